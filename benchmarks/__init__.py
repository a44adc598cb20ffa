"""Side-by-side benchmarks of trane against raw ASGI, Falcon, Starlette and BlackSheep."""

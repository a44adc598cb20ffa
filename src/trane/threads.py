"""Blocking calls in a worker thread that never outlive a cancelled caller.

How this works
--------------
``asyncio.to_thread`` runs a blocking call in the default executor; when the
awaiting task is cancelled, the task moves on at once but the thread goes on
with the call, since a thread cannot be stopped. For file I/O that is a race:
the code that runs next closes the file, and a read or write still under way
then acts on a closed file descriptor, or on another file that was given the
same descriptor number meanwhile. ``in_thread`` runs the call the same way,
but a cancelled caller first waits for the thread to finish the call, then
raises ``CancelledError``::

    data = await in_thread(os.pread, fd, size, offset)

``start_in_thread`` and ``finished`` split that in two, for a call that runs
while the caller does something else (reading ahead, writing behind); a
caller that leaves without awaiting ``finished`` waits for the call with
``asyncio.wait`` before it closes the file.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def start_in_thread(
    func: Callable[..., T], /, *args: Any, executor: Executor | None = None
) -> asyncio.Future[T]:
    """Start ``func(*args)`` in ``executor`` (None: the loop's default); await it with ``finished``.

    PERF: no task and no copy of the context variables (``to_thread`` makes
    both): the calls made here are plain file I/O.
    """
    return asyncio.get_running_loop().run_in_executor(executor, func, *args)


async def finished(call: asyncio.Future[T]) -> T:
    """The result of ``call``; cancelled, this waits for the thread to end the call first."""
    try:
        return await asyncio.shield(call)
    except asyncio.CancelledError:
        await asyncio.wait((call,))
        raise


async def in_thread(func: Callable[..., T], /, *args: Any) -> T:
    """``await asyncio.to_thread(func, *args)``; cancelled, it waits for the call to end."""
    return await finished(start_in_thread(func, *args))


_one_thread: ThreadPoolExecutor | None = None


def one_thread() -> ThreadPoolExecutor:
    """An executor of one thread for this process, made on first use.

    PERF: glibc gives every thread a malloc arena of its own, which gives
    its free pages back to the system between uses. The default executor
    hands calls to its idle threads in turn, so buffers read there come from
    arenas that have shrunk, and fault their pages in again: under uvicorn a
    10 MiB ``FileResponse`` took ~1,950 page faults and 9.5 ms of system
    time per request read there, ~350 and 7.1 ms read in one thread.
    """
    global _one_thread
    if _one_thread is None:
        _one_thread = ThreadPoolExecutor(1, thread_name_prefix="trane-io")
    return _one_thread


def _forget_one_thread() -> None:
    """In a forked child: the thread did not come along, the next use makes one."""
    global _one_thread
    _one_thread = None


if hasattr(os, "register_at_fork"):  # pragma: no branch (POSIX)
    os.register_at_fork(after_in_child=_forget_one_thread)


__all__ = ["finished", "in_thread", "one_thread", "start_in_thread"]

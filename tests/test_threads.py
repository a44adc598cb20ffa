"""threads: blocking calls in worker threads that never outlive a cancelled caller."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest

from trane import threads


async def test_in_thread_runs_the_call_in_another_thread() -> None:
    assert await threads.in_thread(threading.get_ident) != threading.get_ident()
    with pytest.raises(ZeroDivisionError):
        await threads.in_thread(divmod, 1, 0)


async def test_in_thread_cancelled_waits_for_the_call_to_end() -> None:
    started, release = threading.Event(), threading.Event()
    ended: list[bool] = []

    def blocking() -> None:
        started.set()
        release.wait(10)
        ended.append(True)

    task = asyncio.ensure_future(threads.in_thread(blocking))
    await asyncio.to_thread(started.wait, 10)
    task.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not task.done()  # a thread cannot be stopped: the caller waits for it
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ended == [True]


async def test_start_in_thread_and_finished_run_beside_the_caller() -> None:
    call = threads.start_in_thread(sum, [1, 2, 3], executor=threads.one_thread())
    assert await threads.finished(call) == 6


async def test_one_thread_is_one_thread_per_process() -> None:
    executor = threads.one_thread()
    assert threads.one_thread() is executor
    first = await threads.finished(threads.start_in_thread(threading.get_ident, executor=executor))
    second = await threads.finished(threads.start_in_thread(threading.get_ident, executor=executor))
    assert first == second != threading.get_ident()


def test_one_thread_forgotten_is_made_again() -> None:
    before = threads.one_thread()
    threads._forget_one_thread()  # what a forked child does first
    try:
        assert threads.one_thread() is not before
    finally:
        before.shutdown()


def test_one_thread_is_made_again_in_a_forked_child() -> None:
    threads.one_thread().submit(int).result(10)  # the parent's thread is running
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; its exit status is the result)
        code = 1
        try:
            code = 0 if threads.one_thread().submit(lambda: 7).result(5) == 7 else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status)
    assert os.WEXITSTATUS(status) == 0

"""The sink's acknowledgements on an event loop: kafka-python futures completed on another
thread settle asyncio futures, one wake-up of the loop per burst."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from kafka.errors import KafkaTimeoutError
from kafka.future import Future

from producers.kafka_sink import _Settler


def test_a_burst_of_acknowledgements_wakes_the_loop_once_and_settles_each_future() -> None:
    async def burst() -> tuple[int, list[Any]]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        wake = loop.call_soon_threadsafe

        def counted(*args: Any) -> Any:
            nonlocal wakeups
            wakeups += 1
            return wake(*args)

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign]
        settler = _Settler(loop)
        early = Future().success("before")  # done before anyone waits: settled all the same
        futures = [Future() for _ in range(100)]
        waits = [settler.awaitable(early), *(settler.awaitable(f) for f in futures)]

        def acknowledge() -> None:  # the producer's I/O thread, while the loop is busy
            for number, future in enumerate(futures):
                if number == 7:
                    future.failure(KafkaTimeoutError("no acknowledgement"))
                else:
                    future.success(number)

        thread = threading.Thread(target=acknowledge)
        thread.start()
        thread.join()
        results = await asyncio.gather(*waits, return_exceptions=True)
        return wakeups, results

    wakeups, results = asyncio.run(burst())
    assert wakeups == 1  # the early future's wake-up comes after the burst: one for all
    assert results[0] == "before"
    assert isinstance(results[8], KafkaTimeoutError)
    assert [r for n, r in enumerate(results[1:]) if n != 7] == [n for n in range(100) if n != 7]

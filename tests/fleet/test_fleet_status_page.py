"""The status page in a real browser: headless Chromium loads ``/`` from a live coordinator
(127.0.0.1) with in-process workers and jobs, runs the page's script, and the rendered DOM
shows the workers and the jobs."""

from __future__ import annotations

import re
from pathlib import Path

import trio
from support.browser import chromium_or_skip, command
from support.fleet import make_table, native_or_skip, start_coordinator, start_workers


async def test_status_page_renders_workers_and_jobs(nursery: trio.Nursery, tmp_path: Path) -> None:
    browser = chromium_or_skip()
    native_or_skip()
    table, scalars = make_table("bn254", "G1", 64, seed=9)
    with trio.fail_after(120):
        coord = await start_coordinator(nursery, None, http="127.0.0.1:0")
        await start_workers(nursery, coord, tmp_path, ["page-w1", "page-w2"], task_delay=0.01)
        done = await coord.submit_msm("bn254", "G1", table, scalars)
        await done.result()
        running = await coord.submit_msm("bn254", "G1", table, scalars)
        running_id = running.id
        # a job that stays running while the browser looks: no worker left to take it
        for w in ("page-w1", "page-w2"):
            coord.quarantine(w, "kept busy for the page test")
        url = f"http://127.0.0.1:{coord.http_port}/"
        res = await trio.run_process(
            command(browser, tmp_path / "profile", url, "--virtual-time-budget=5000", "--dump-dom"),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
    dom = res.stdout.decode()
    assert res.returncode == 0, res.stderr.decode()[-2000:]
    rows = re.findall(r'<tr data-worker="([^"]+)">(.*?)</tr>', dom)
    assert {w for w, _ in rows} == {"page-w1", "page-w2"}, dom[-3000:]
    assert all("quarantined" in cells for _, cells in rows)
    jobs = dict(re.findall(r'<tr data-job="([^"]+)">(.*?)</tr>', dom))
    assert set(jobs) == {done.id, running_id}
    assert ">done<" in jobs[done.id] and "100%" in jobs[done.id]
    assert ">running<" in jobs[running_id]
    assert f'data-job="{done.id}"' in dom.split('id="chart"', 1)[1]  # its bar in the chart
    assert 'class="dot on"' in dom  # the last refresh reached /api/status

"""Issue 11, item 13: the window fits a 1366×768 laptop; when it cannot start, the demo opens the browser and its
throwaway folder goes."""

from __future__ import annotations

import logging
import os
import re
import signal
import webbrowser
from pathlib import Path

import httpx


def test_the_window_fits_a_1366_by_768_laptop_with_its_task_bar():
    from app.desktop import MIN_SIZE, WINDOW_SIZE

    width, height = WINDOW_SIZE
    assert 1024 <= width <= 1366 and height <= 768 - 40 - 28  # a task bar and a title bar stay on screen
    assert MIN_SIZE[0] >= 1024 and MIN_SIZE[1] <= height


def test_a_demo_whose_window_cannot_start_opens_the_browser_and_removes_its_folder(monkeypatch, tmp_path):
    import webview

    from app.demo import run_demo

    def window_fails(*args, **kwargs):
        raise RuntimeError("the web view could not be created")  # what a broken graphics stack raises

    monkeypatch.setattr(webview, "start", window_fails)
    monkeypatch.setattr("app.desktop.window_problem", lambda environ=None: None)
    opened: list[str] = []

    def browser(url, *args, **kwargs):
        opened.append(url)
        # the browser is opened on the private redirect file (issue 14), which leads to the app's launch URL
        redirect_file = Path(url.removeprefix("file://"))
        launch = re.search(r"http://127\.0\.0\.1:\d+/[^\"'<> ]*", redirect_file.read_text()).group(0)
        assert httpx.get(launch, follow_redirects=False).status_code in (200, 302)  # the app answers there
        os.kill(os.getpid(), signal.SIGINT)  # the user presses Ctrl+C
        return True

    monkeypatch.setattr(webbrowser, "open", browser)
    banner = tmp_path / "banner.txt"
    # the demo quietens this process's request loggers, as it should in a terminal: this test gives them back
    loggers = [logging.getLogger(name) for name in ("werkzeug", "license_server.requests")]
    levels = [logger.level for logger in loggers]
    try:
        with banner.open("w") as out:
            assert run_demo("window", out=out) == 0
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)
    text = banner.read_text()
    folder = Path(re.search(r"data folder\s+(\S+)", text).group(1))
    assert len(opened) == 1 and opened[0].startswith("file://")
    assert not folder.exists(), "the throwaway demo folder outlived the demo"


def test_a_demo_folder_left_by_a_process_that_died_is_removed_at_the_next_demo_but_a_running_ones_is_kept(tmp_path):
    # Qt can abort the whole process (no Python cleanup runs): the next demo removes what it left
    import time

    from app.demo import ABANDONED_AFTER_S, DEMO_PREFIX, remove_abandoned_demos
    from app.instance import InstanceLock

    abandoned, running, starting = (tmp_path / f"{DEMO_PREFIX}{name}" for name in ("dead", "live", "new"))
    for folder in (abandoned, running, starting):
        (folder / "app").mkdir(parents=True)
        (folder / "app" / "store.db").write_bytes(b"demo data")
    old = time.time() - 10 * ABANDONED_AFTER_S
    for folder in (abandoned, running):
        os.utime(folder, (old, old))
    lock = InstanceLock(running / "app").acquire()  # a demo that still runs holds its lock
    try:
        assert remove_abandoned_demos(str(tmp_path)) == [abandoned]
    finally:
        lock.release()
    assert not abandoned.exists() and running.exists() and starting.exists()

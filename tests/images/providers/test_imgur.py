"""Imgur against its stand-in: OAuth refresh, credits, paging by 50, rate-limit headers."""

from __future__ import annotations


def test_full_then_no_change(runner, standins) -> None:  # type: ignore[no-untyped-def]
    first = runner.run("imgur-001")
    assert (first.status, first.new, first.failed) == ("ok", 60, 0)
    paths = [p for m, p in standins.requests("imgur") if m == "GET"]
    assert "/3/credits" in paths
    assert "/3/account/me/images/0" in paths and "/3/account/me/images/1" in paths
    standins.reset("imgur")
    second = runner.run("imgur-001")
    assert (second.unchanged, second.bytes) == (60, 0)
    assert runner.downloads("imgur", "/i/") == []


def test_expired_access_token_is_refreshed(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.expire_imgur_tokens()
    result = runner.run("imgur-001")
    assert (result.status, result.new) == ("ok", 60)
    assert ("POST", "/oauth2/token") in standins.requests("imgur")


def test_no_access_token_mints_one_from_the_refresh_token(runner, standins) -> None:  # type: ignore[no-untyped-def]
    result = runner.run("imgur-001", access_token="")
    assert result.status == "ok"
    assert ("POST", "/oauth2/token") in standins.requests("imgur")


def test_expired_token_with_bad_refresh_token_is_auth_failed(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.expire_imgur_tokens()
    result = runner.run("imgur-001", refresh_token="imgrt-not-the-right-one")
    assert (result.status, result.error_code) == ("failed", "AUTH_FAILED")


def test_image_downloads_survive_faults(runner, standins) -> None:  # type: ignore[no-untyped-def]
    standins.fault("imgur", "500", match="/i/", times=3)
    standins.fault("imgur", "cut", match="/i/", times=2)
    standins.fault("imgur", "429", match="/i/", times=1, retry_after=1)
    result = runner.run("imgur-001")
    assert (result.status, result.new, result.failed) == ("ok", 60, 0)
    assert max(runner.sleeps) >= 1


def test_exhausted_credits_are_rate_limited_up_front(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading

    from werkzeug.serving import make_server

    from hib_orchestrator.standins.imgur import ImgurApp

    app = ImgurApp(
        access_token="imgat-test-000000",
        refresh_token="imgrt-test-000000",
        client_id="cid-000000000",
        client_secret="csec-00000000",
        images={"abc": (".png", "a.png", b"\x89PNG")},
        base_url="",
        credits=1,
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.base_url = f"http://127.0.0.1:{server.port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = runner.run(
            "imgur-001",
            name="imgur-broke",
            api=app.base_url,
            access_token="imgat-test-000000",
            attempts=1,
        )
    finally:
        server.shutdown()
        thread.join()
    assert (result.status, result.error_code) == ("failed", "RATE_LIMITED")

"""The server's outbound requests (reference recordings, webhooks) on every API: a name is resolved once, every
address it gives is checked, the connection goes to a checked address, and every redirect hop is checked again (a
POST follows none). Hosts are a DNS stand-in inside the test process and loopback servers (tests/outbound.py); no
traffic leaves the machine."""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from types import SimpleNamespace

import httpx
import pytest

from cbx_cli.serve import Defaults
from cbx_cli.tools.checkpoints import write_voice_wav
from outbound import CDN, PUBLIC, SECURE, Resolver, Site, audio, certificate_authority, redirect
from servers import KEY, assert_refused, running

PIXAZO = "/chatterbox-text-to-speech/v1/chatterbox-text-to-speech-request"

# (API, method, path, headers, body with the URL as {url}, status when the fetch is refused, status when it is fine)
REFERENCE_ROUTES = [
    ("cbx", "POST", "/v1/tts", {"x-api-key": KEY}, {"text": "Hi.", "reference_audio": "{url}"}, 422, 200),
    ("cbx", "POST", "/v2/tts", {"x-api-key": KEY}, {"text": "Hi.", "reference_audio": "{url}"}, 422, 202),
    ("cbx", "POST", "/v1/voices", {"x-api-key": KEY}, {"name": "fetched", "reference_audio": "{url}"}, 422, 201),
    ("segmind", "POST", "/v1/chatterbox-tts", {"x-api-key": KEY}, {"text": "Hi.", "reference_audio": "{url}"}, 422,
     200),
    ("segmind", "POST", "/v2/chatterbox-tts", {"x-api-key": KEY}, {"text": "Hi.", "reference_audio": "{url}"}, 422,
     200),
    ("pixazo", "POST", PIXAZO, {"Ocp-Apim-Subscription-Key": KEY}, {"text": "Hi.", "audio_url": "{url}"}, 422, 200),
]


@pytest.fixture
def net(monkeypatch, tmp_path, fake_engine):
    """A resolver stand-in, a "public" site (PUBLIC routes to it), an internal one on loopback that nothing may
    reach, and a server that fetches public URLs only."""
    resolver = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    voice = write_voice_wav(tmp_path / "v.wav", seconds=6.0, sr=24000).read_bytes()
    internal = Site({("GET", "/voice.wav"): audio(voice), ("POST", "/admin"): (200, {}, b"ok")})
    public = Site({("GET", "/voice.wav"): audio(voice), ("POST", "/hook"): (200, {}, b""),
                   ("POST", "/admin"): (200, {}, b"")})
    resolver.route(PUBLIC, public.port)
    try:
        with running(tmp_path / "serve", fake_engine, allow_private=False, defaults=Defaults(http_webhooks=True)) \
                as base:
            yield SimpleNamespace(resolver=resolver, internal=internal, public=public, base=base, voice=voice)
    finally:
        public.close()
        internal.close()


def ask(net, route, url: str) -> httpx.Response:
    api, method, path, headers, body, _, _ = route
    filled = {k: (url if v == "{url}" else v) for k, v in body.items()}
    with httpx.Client(base_url=net.base, timeout=60) as http:
        return http.request(method, path, json=filled, headers=headers)


@pytest.mark.parametrize("route", REFERENCE_ROUTES, ids=lambda r: f"{r[0]}:{r[2]}")
def test_a_redirect_to_loopback_is_refused_and_never_followed(net, caplog, route):
    caplog.set_level(logging.WARNING)
    net.public.pages[("GET", "/bounce")] = redirect(net.internal.url("/voice.wav"))
    answer = ask(net, route, net.public.url("/bounce", host=PUBLIC))
    assert_refused(answer, route[5], route[0], "redirects to", caplog.records)
    assert "private or local address (127.0.0.1)" in answer.text
    assert net.internal.calls == [] and [c[1] for c in net.public.calls] == ["/bounce"]


@pytest.mark.parametrize("route", REFERENCE_ROUTES, ids=lambda r: f"{r[0]}:{r[2]}")
def test_a_name_that_rebinds_to_loopback_is_fetched_from_the_address_checked(net, route):
    """The name answers a public address first and 127.0.0.1 next: one lookup, and the connection goes to the
    public address it checked (a second lookup would reach the internal site, on the URL's port)."""
    net.resolver.name("rebind.example", [PUBLIC], ["127.0.0.1"])
    answer = ask(net, route, f"http://rebind.example:{net.internal.port}/voice.wav")
    assert answer.status_code == route[6], answer.text
    assert net.internal.calls == [] and net.resolver.lookups["rebind.example"] == 1
    assert [(c[0], c[1], c[2]["Host"]) for c in net.public.calls] == [
        ("GET", "/voice.wav", f"rebind.example:{net.internal.port}")]


@pytest.mark.parametrize("answers, shown", [
    ([PUBLIC, "127.0.0.1"], "127.0.0.1"), ([PUBLIC, "10.1.2.3"], "10.1.2.3"),
    (["::ffff:127.0.0.1"], "::ffff:127.0.0.1"),
    (["169.254.169.254"], "169.254.169.254"), (["64:ff9b::7f00:1"], "64:ff9b::7f00:1"), (["0.0.0.0"], "0.0.0.0"),
])
def test_every_address_a_name_resolves_to_is_checked(net, caplog, answers, shown):
    caplog.set_level(logging.WARNING)
    net.resolver.name("mixed.example", answers)
    answer = ask(net, REFERENCE_ROUTES[0], f"http://mixed.example:{net.public.port}/voice.wav")
    assert_refused(answer, 422, "cbx", f"private or local address ({shown})", caplog.records)
    assert net.internal.calls == [] and net.public.calls == []


def test_a_redirect_to_a_public_host_is_checked_and_followed(net):
    net.resolver.name("cdn.example", [CDN])
    net.resolver.route(CDN, net.public.port)
    net.public.pages[("GET", "/moved")] = redirect(f"http://cdn.example:{net.public.port}/voice.wav", 301)
    answer = ask(net, REFERENCE_ROUTES[0], net.public.url("/moved", host=PUBLIC))
    assert answer.status_code == 200, answer.text
    assert [c[1] for c in net.public.calls] == ["/moved", "/voice.wav"] and net.resolver.lookups["cdn.example"] == 1


def test_endless_redirects_end(net, caplog):
    caplog.set_level(logging.WARNING)
    net.public.pages[("GET", "/loop")] = redirect("/loop")
    answer = ask(net, REFERENCE_ROUTES[3], net.public.url("/loop", host=PUBLIC))
    assert_refused(answer, 422, "segmind", "redirects more than 5 times", caplog.records)
    assert len(net.public.calls) == 6


def test_https_sends_the_name_as_sni_and_host_and_checks_the_certificate(net, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    ca_file, server_context = certificate_authority(tmp_path, "secure.example")
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    secure = Site({("GET", "/voice.wav"): audio(net.voice)}, tls=server_context())
    try:
        net.resolver.name("secure.example", [SECURE], ["127.0.0.1"])
        net.resolver.name("impostor.example", [SECURE])
        net.resolver.route(SECURE, secure.port)
        good = ask(net, REFERENCE_ROUTES[0], f"https://secure.example:{secure.port}/voice.wav")
        wrong_name = ask(net, REFERENCE_ROUTES[0], f"https://impostor.example:{secure.port}/voice.wav")
    finally:
        secure.close()
    assert good.status_code == 200, good.text
    assert secure.sni[0] == "secure.example" and secure.calls[0][2]["Host"] == f"secure.example:{secure.port}"
    assert_refused(wrong_name, 422, "cbx", "could not be reached", caplog.records)
    assert "certificate" in wrong_name.text.lower() and len(secure.calls) == 1


# -- webhooks ------------------------------------------------------------------------------------------------------

HOOK_ROUTES = [
    # (API, path, headers, body, the webhook's header or None for the body's "webhook")
    ("cbx", "/v2/tts", {"x-api-key": KEY}, {"text": "Call back."}, None),
    ("pixazo", PIXAZO, {"Ocp-Apim-Subscription-Key": KEY}, {"text": "Call back."}, "X-Webhook-URL"),
]


def submit_with_hook(net, route, hook: str) -> str:
    api, path, headers, body, header = route
    if header is None:
        body = {**body, "webhook": hook}
    else:
        headers = {**headers, header: hook}
    answer = httpx.post(net.base + path, json=body, headers=headers, timeout=30)
    assert answer.status_code in (200, 202), answer.text
    return answer.json()["request_id"]


def hook_state(net, request_id: str, attempts: int) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = httpx.get(f"{net.base}/v2/requests/{request_id}", headers={"x-api-key": KEY}).json()
        if state.get("webhook", {}).get("attempts", 0) >= attempts and (
                state["webhook"]["delivered"] or state["webhook"]["attempts"] >= 3):
            time.sleep(0.3)  # no further attempt comes
            return httpx.get(f"{net.base}/v2/requests/{request_id}", headers={"x-api-key": KEY}).json()
        time.sleep(0.05)
    raise AssertionError(f"the webhook of {request_id} did not end: {state}")


@pytest.mark.parametrize("route", HOOK_ROUTES, ids=lambda r: r[0])
def test_a_webhook_that_redirects_to_loopback_is_not_followed_on_any_attempt(net, route):
    net.public.pages[("POST", "/bounce")] = redirect(net.internal.url("/admin"), 307)
    request_id = submit_with_hook(net, route, net.public.url("/bounce", host=PUBLIC))
    state = hook_state(net, request_id, 3)
    assert state["webhook"] == {"attempts": 3, "delivered": False}
    assert net.internal.calls == [] and [c[:2] for c in net.public.calls] == [("POST", "/bounce")] * 3


@pytest.mark.parametrize("route", HOOK_ROUTES, ids=lambda r: r[0])
def test_a_webhook_name_that_rebinds_reaches_only_the_address_it_checked(net, route):
    """Checked when the job is queued (one lookup) and again when it is sent (one lookup, then the connection to
    that address): a third lookup would have answered 127.0.0.1."""
    net.resolver.name("hook.example", [PUBLIC], [PUBLIC], ["127.0.0.1"])
    request_id = submit_with_hook(net, route, f"http://hook.example:{net.internal.port}/admin")
    state = hook_state(net, request_id, 1)
    assert state["webhook"] == {"attempts": 1, "delivered": True}
    assert net.internal.calls == [] and [c[:2] for c in net.public.calls] == [("POST", "/admin")]
    assert net.resolver.lookups["hook.example"] == 2


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:2800:220:1::1", True), ("127.0.0.1", False), ("10.0.0.1", False),
    ("100.64.0.1", False), ("169.254.169.254", False), ("224.0.0.1", False), ("233.1.1.1", False),
    ("255.255.255.255", False), ("0.0.0.0", False), ("::1", False), ("::", False), ("fe80::1", False),
    ("fd00::1", False), ("::ffff:127.0.0.1", False), ("::ffff:93.184.216.34", True), ("64:ff9b::7f00:1", False),
    ("64:ff9b::5db8:d822", True), ("2002:7f00:1::", False), ("2002:5db8:d822::", True), ("::127.0.0.1", False),
    ("ff02::1", False), ("64:ff9b:1::5db8:d822", False), ("2001:0:5ef5:79fd::1", False),
])
def test_public_addresses_and_the_ipv4_an_ipv6_address_carries(address, public):
    from cbx_cli.serve.urls import is_public

    assert is_public(ipaddress.ip_address(address)) is public


@pytest.mark.parametrize("head", [
    b"",  # the status line a byte at a time
    b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 1000000\r\n\r\n",  # the body a byte at a time
    b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n\r\n",  # read to its close: never whole
], ids=["status-line", "body", "body-to-close"])
def test_a_far_end_that_sends_a_byte_at_a_time_is_cut_off_when_the_fetch_time_is_up(head):
    """Every byte comes well within the read timeout (0.1 s apart, 1 s allowed); the fetch still ends when its
    whole time (0.5 s) is up, and never takes what it read by then for the whole answer."""
    from cbx_cli.errors import InputError
    from cbx_cli.serve.urls import fetch
    from outbound import Trickle

    trickle = Trickle(every=0.1, head=head)
    started = time.monotonic()
    try:
        with pytest.raises(InputError, match=r"took longer than 0.5 s"):
            fetch(trickle.url("/voice.wav"), "reference_audio", True, timeout=1.0, seconds=0.5)
    finally:
        trickle.close()
    assert time.monotonic() - started < 1.5 and len(trickle.calls) == 1

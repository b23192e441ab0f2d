#!/usr/bin/env python3
"""Drives headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe: fd 3 in,
fd 4 out, JSON messages ended by NUL), so a test can open a live page, wait for a condition, read
the DOM and take a screenshot without any extra package.

usage: browser.py URL (--until JS | --do JS)... [--timeout S] [--eval NAME=JS ...] [--screenshot FILE] [--size WxH]
--do runs a script in the page; --until waits (each up to --timeout seconds) for a script to be
true; they run in the order given. Prints one JSON object:
{"ready": bool (every --until came true), "failed": the --until that did not, "values": {NAME: value}, "console": [...], "errors": [...]}
"""
import argparse, base64, json, os, subprocess, sys, tempfile, time

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--until", dest="steps", action="append", type=lambda js: ("until", js), default=[])
    parser.add_argument("--do", dest="steps", action="append", type=lambda js: ("do", js))
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--eval", action="append", default=[])
    parser.add_argument("--screenshot")
    parser.add_argument("--size", default="1400x1300")
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))
    to_browser_r, to_browser_w = os.pipe()
    from_browser_r, from_browser_w = os.pipe()
    profile = tempfile.mkdtemp(prefix="swiftdeploy-chromium-")
    def child_fds():
        # Copies first: a pipe end may already sit on fd 3 or 4, and dup2 onto itself would keep close-on-exec.
        inbound, outbound = os.dup(to_browser_r), os.dup(from_browser_w)
        os.dup2(inbound, 3)
        os.dup2(outbound, 4)
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--remote-debugging-pipe", "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height), "about:blank"],
        preexec_fn=child_fds, pass_fds=(3, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(to_browser_r)
    os.close(from_browser_w)
    reader = os.fdopen(from_browser_r, "rb")
    writer = os.fdopen(to_browser_w, "wb")
    pending = b""
    counter = [0]
    console, errors = [], []

    def read_message():
        nonlocal pending
        while b"\0" not in pending:
            chunk = os.read(reader.fileno(), 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            pending += chunk
        message, pending = pending.split(b"\0", 1)
        return json.loads(message)

    def call(method, params=None, session=None):
        counter[0] += 1
        message = {"id": counter[0], "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        writer.write(json.dumps(message).encode() + b"\0")
        writer.flush()
        while True:
            reply = read_message()
            if reply.get("method") == "Runtime.consoleAPICalled":
                console.append(" ".join(str(a.get("value", a.get("description", ""))) for a in reply["params"]["args"]))
            if reply.get("method") == "Runtime.exceptionThrown":
                errors.append(reply["params"]["exceptionDetails"].get("exception", {}).get("description", "exception"))
            if reply.get("id") == counter[0]:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    try:
        target = call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        call("Runtime.enable", session=session)
        call("Page.enable", session=session)
        call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session=session)
        call("Page.navigate", {"url": args.url}, session=session)

        def evaluate(expression):
            result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
            if "exceptionDetails" in result:
                return None
            return result.get("result", {}).get("value")

        ready, failed = True, None
        for kind, script in args.steps:
            if kind == "do":
                evaluate(script)
                continue
            deadline = time.time() + args.timeout
            while evaluate(script) is not True:
                if time.time() > deadline:
                    ready, failed = False, script
                    break
                time.sleep(0.2)
            if not ready:
                break
        values = {}
        for item in args.eval:
            name, expression = item.split("=", 1)
            values[name] = evaluate(expression)
        if args.screenshot:
            shot = call("Page.captureScreenshot", {"format": "png"}, session=session)
            with open(args.screenshot, "wb") as out:
                out.write(base64.b64decode(shot["data"]))
        print(json.dumps({"ready": ready, "failed": failed, "values": values, "console": console, "errors": errors}))
    finally:
        try:
            call("Browser.close")
        except Exception:
            pass
        try:
            browser.wait(timeout=5)
        except subprocess.TimeoutExpired:
            browser.kill()
        subprocess.run(["rm", "-rf", profile])

if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Runs falcon-toolkit's `falcon shell` against the rtrsh emulator and records when things happen.

Used by `cargo bench --bench shell` (benches/shell.rs) to put falcon-toolkit's figures beside
rtrsh's. Run it with the Python of a venv that has `falcon-toolkit==3.6.2` installed:

    FALCON_CLIENT_ID=emulator-client FALCON_CLIENT_SECRET=emulator-secret \\
      /tmp/ftk/bin/python scripts/bench/falcon_toolkit_shell.py \\
        --base-url http://127.0.0.1:PORT --aid AID --script LINES.txt --timings OUT.json

What runs is the real `falcon` command-line entry point (`falcon_toolkit.falcon.cli`) with
`-p emulator shell -d AID -s LINES.txt`: falcon-toolkit's own profile loading, Caracara client,
batch session and cmd2 prompt. Only two things are set up around it, because the toolkit is
interactive by design:

- a throw-away configuration directory with one profile whose `cloud_name` is the emulator's
  base URL (Caracara passes it to FalconPy as `base_url`, which accepts a full `http://` URL);
- an in-memory `keyring` backend holding the client secret (the toolkit reads the secret from the
  system keyring, which a headless machine does not have).

Timing only: the toolkit's `RTRBatchSession.connect` (the batch-init-session), the prompt's
`cmdloop` (the shell is ready), and `RTRPrompt.send_generic_command` (one command: request,
wait, print the first host's output, write the CSV row) are wrapped to record `time.time()`
before and after. The wrappers call the originals unchanged. The events go to `--timings` as
JSON: `{"t_main": ..., "t_imported": ..., "events": [[name, start, end], ...]}`.

The script file must end with `quit`, or the shell stays open waiting for input.
"""

import argparse
import json
import os
import sys
import tempfile
import time

T_MAIN = time.time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--aid", required=True)
    parser.add_argument("--script", required=True)
    parser.add_argument("--timings", required=True)
    args = parser.parse_args()
    client_id = os.environ.get("FALCON_CLIENT_ID", "emulator-client")
    client_secret = os.environ.get("FALCON_CLIENT_SECRET", "emulator-secret")

    # The imports a user pays for when they type `falcon shell`.
    import keyring
    from keyring.backend import KeyringBackend
    from caracara.modules.rtr.batch_session import RTRBatchSession
    from falcon_toolkit.common.constants import CONFIG_FILENAME, KEYRING_SERVICE_NAME
    from falcon_toolkit.falcon import cli
    from falcon_toolkit.shell.prompt import RTRPrompt

    t_imported = time.time()

    class MemoryKeyring(KeyringBackend):
        """A keyring that lives in this process only."""

        priority = 1

        def __init__(self):
            super().__init__()
            self.store = {}

        def get_password(self, service, username):
            return self.store.get((service, username))

        def set_password(self, service, username, password):
            self.store[(service, username)] = password

        def delete_password(self, service, username):
            self.store.pop((service, username), None)

    ring = MemoryKeyring()
    ring.set_password(KEYRING_SERVICE_NAME, client_id, client_secret)
    keyring.set_keyring(ring)

    events = []

    def timed(name, fn):
        def wrapper(*a, **kw):
            start = time.time()
            try:
                return fn(*a, **kw)
            finally:
                events.append([name, start, time.time()])

        return wrapper

    RTRBatchSession.connect = timed("batch_connect", RTRBatchSession.connect)
    RTRPrompt.cmdloop = timed("cmdloop", RTRPrompt.cmdloop)
    RTRPrompt.send_generic_command = timed("command", RTRPrompt.send_generic_command)

    def first_prompt_hook(self):
        events.append(["first_prompt", time.time(), time.time()])

    # cmd2 calls preloop hooks right before it runs the startup script and shows the prompt.
    original_init = RTRPrompt.__init__

    def init_with_hook(self, *a, **kw):
        original_init(self, *a, **kw)
        self.register_preloop_hook(lambda: first_prompt_hook(self))

    RTRPrompt.__init__ = init_with_hook

    with tempfile.TemporaryDirectory(prefix="ftk-bench-") as config_dir:
        config = {
            "auth_backends": [],
            "instances": [
                {
                    "name": "emulator",
                    "description": "rtrsh loopback emulator",
                    "auth": {
                        "backend_name": "PublicCloudSingleCID",
                        "backend_config": {
                            "client_id": client_id,
                            "cloud_name": args.base_url,
                            "ssl_verify": False,
                            "proxy": None,
                        },
                    },
                }
            ],
        }
        with open(os.path.join(config_dir, CONFIG_FILENAME), "w", encoding="utf8") as f:
            json.dump(config, f)
        code = 0
        try:
            cli.main(
                args=[
                    "-c",
                    config_dir,
                    "-p",
                    "emulator",
                    "shell",
                    "-d",
                    args.aid,
                    "-s",
                    args.script,
                ],
                prog_name="falcon",
                standalone_mode=False,
            )
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except Exception as e:  # pylint: disable=broad-except
            print(f"falcon_toolkit_shell: {type(e).__name__}: {e}", file=sys.stderr)
            code = 1
    t_end = time.time()
    with open(args.timings, "w", encoding="utf8") as f:
        json.dump(
            {"t_main": T_MAIN, "t_imported": t_imported, "t_end": t_end, "events": events}, f
        )
    return code


if __name__ == "__main__":
    sys.exit(main())

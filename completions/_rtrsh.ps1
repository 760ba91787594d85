
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'rtrsh' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'rtrsh'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'rtrsh' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Hostname to connect to (resolved through the devices API). Repeat for several hosts')
            [CompletionResult]::new('--aid', '--aid', [CompletionResultType]::ParameterName, 'Host id (aid) to connect to, skipping the hostname lookup. Repeatable')
            [CompletionResult]::new('--hosts-file', '--hosts-file', [CompletionResultType]::ParameterName, 'Hosts to connect to: hostnames or aids, one per line')
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Hosts matching this FQL filter, e.g. "platform_name:''Windows''+tags:''FalconGroupingTags/finance''"')
            [CompletionResult]::new('--confirm-threshold', '--confirm-threshold', [CompletionResultType]::ParameterName, 'Ask before a write-tier command runs on more than this many hosts')
            [CompletionResult]::new('--batch-timeout', '--batch-timeout', [CompletionResultType]::ParameterName, 'How long a batch command may take on the server (1s to 10m)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--base-url', '--base-url', [CompletionResultType]::ParameterName, 'Falcon API base URL, e.g. https://api.crowdstrike.com (http:// only for loopback)')
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'API client id (default: $FALCON_CLIENT_ID). The secret is read from $FALCON_CLIENT_SECRET')
            [CompletionResult]::new('--client-secret', '--client-secret', [CompletionResultType]::ParameterName, 'API client secret. Visible to other local users in the process list: prefer $FALCON_CLIENT_SECRET')
            [CompletionResult]::new('--member-cid', '--member-cid', [CompletionResultType]::ParameterName, 'MSSP child CID to act in (default: $FALCON_MEMBER_CID)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Run this command line and exit (repeatable; runs in order)')
            [CompletionResult]::new('--command', '--command', [CompletionResultType]::ParameterName, 'Run this command line and exit (repeatable; runs in order)')
            [CompletionResult]::new('--script', '--script', [CompletionResultType]::ParameterName, 'Run the command lines in FILE and exit')
            [CompletionResult]::new('--transcript', '--transcript', [CompletionResultType]::ParameterName, 'Write the audit transcript to this file')
            [CompletionResult]::new('--output-dir', '--output-dir', [CompletionResultType]::ParameterName, 'Save each host''s output log in DIR instead of the data directory')
            [CompletionResult]::new('--pulse-interval', '--pulse-interval', [CompletionResultType]::ParameterName, 'How often to pulse the session to keep it alive')
            [CompletionResult]::new('--command-timeout', '--command-timeout', [CompletionResultType]::ParameterName, 'Give up waiting for a command after this long (it may still run on the host)')
            [CompletionResult]::new('--evidence-dir', '--evidence-dir', [CompletionResultType]::ParameterName, 'Where `get` saves retrieved files (a folder per host, with a manifest.jsonl)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the resolved hosts and the tier each command would use, then exit')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to the confirmation for write-tier commands on many hosts (for scripts)')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'In scripts, stop at the first command that fails')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write one JSON object per command to stdout instead of the output itself')
            [CompletionResult]::new('--parsed', '--parsed', [CompletionResultType]::ParameterName, 'With --json: the record of a command whose output is parsed (ps, netstat, reg query, ls, filehash, env, eventlog view, runscript) carries its records under `parsed`')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Do not neutralise control characters in host output (for pipes)')
            [CompletionResult]::new('--queue-offline', '--queue-offline', [CompletionResultType]::ParameterName, 'Queue commands for an offline host (they run when it comes back)')
            [CompletionResult]::new('--no-transcript', '--no-transcript', [CompletionResultType]::ParameterName, 'Do not write an audit transcript')
            [CompletionResult]::new('--no-save-output', '--no-save-output', [CompletionResultType]::ParameterName, 'Keep no copy of the commands'' output (by default each host''s full output is saved in a private log under the data directory; `save = false` under `[output]` in the config)')
            [CompletionResult]::new('--no-extract', '--no-extract', [CompletionResultType]::ParameterName, '`get` keeps the downloaded 7z archive (password `infected`) instead of extracting it')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('emulator', 'emulator', [CompletionResultType]::ParameterValue, 'Run the loopback Falcon API emulator (for tests, benchmarks and demos)')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Manage stored credentials (profiles)')
            [CompletionResult]::new('queue', 'queue', [CompletionResultType]::ParameterValue, 'List the commands this API client queued for offline hosts (any run, last 7 days) and print the output of those that ran')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions for bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtrsh;emulator' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on; port 0 picks a free port (the URL is printed)')
            [CompletionResult]::new('--hosts', '--hosts', [CompletionResultType]::ParameterName, 'Number of simulated hosts')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed of the simulated world (same seed, same world)')
            [CompletionResult]::new('--offline-share', '--offline-share', [CompletionResultType]::ParameterName, 'Share (0..1) of generated hosts that are offline')
            [CompletionResult]::new('--child-cids', '--child-cids', [CompletionResultType]::ParameterName, 'Number of MSSP child CIDs (tokens may then name one with member_cid)')
            [CompletionResult]::new('--latency', '--latency', [CompletionResultType]::ParameterName, 'Time a host takes to finish a command (e.g. 300ms)')
            [CompletionResult]::new('--latency-jitter', '--latency-jitter', [CompletionResultType]::ParameterName, 'Random extra time per command, up to this much (deterministic per seed)')
            [CompletionResult]::new('--slow-hosts', '--slow-hosts', [CompletionResultType]::ParameterName, 'Share (0..1) of hosts that are slow: every command on them, and the `pwd` of a session init, takes `--slow-latency` instead of `--latency` (a long tail; the same hosts for a given seed, listed as `slow` by `/_emulator/hosts`)')
            [CompletionResult]::new('--slow-latency', '--slow-latency', [CompletionResultType]::ParameterName, 'How long a command takes on a slow host (see `--slow-hosts`)')
            [CompletionResult]::new('--chunk-size', '--chunk-size', [CompletionResultType]::ParameterName, 'Bytes of output per sequence_id chunk')
            [CompletionResult]::new('--chunk-model', '--chunk-model', [CompletionResultType]::ParameterName, 'How chunked output is paged (see docs/protocol.md, "Sequence chunks")')
            [CompletionResult]::new('--token-lifetime', '--token-lifetime', [CompletionResultType]::ParameterName, 'Lifetime of an OAuth2 access token (the real API: 30 minutes, expires_in 1799)')
            [CompletionResult]::new('--session-idle', '--session-idle', [CompletionResultType]::ParameterName, 'An RTR session expires after this long without activity (init, pulse, command)')
            [CompletionResult]::new('--rate-limit', '--rate-limit', [CompletionResultType]::ParameterName, 'Requests per minute per CID (sliding window); 0 disables the limit')
            [CompletionResult]::new('--batch-concurrency', '--batch-concurrency', [CompletionResultType]::ParameterName, 'Batch requests (init, command, get) answered at once; more get 429 with a RetryAfter one second away. The API documents no such limit (0, the default: none); this plays the reading that one exists')
            [CompletionResult]::new('--unauthenticated-rate-limit', '--unauthenticated-rate-limit', [CompletionResultType]::ParameterName, 'Requests per minute per source IP with a missing or invalid token')
            [CompletionResult]::new('--retry-after-unit', '--retry-after-unit', [CompletionResultType]::ParameterName, 'Unit of X-RateLimit-RetryAfter on a 429')
            [CompletionResult]::new('--fault-5xx', '--fault-5xx', [CompletionResultType]::ParameterName, 'Share (0..1) of API requests answered with a 5xx (before or after the request took effect)')
            [CompletionResult]::new('--fault-drop', '--fault-drop', [CompletionResultType]::ParameterName, 'Share (0..1) of API requests whose connection is dropped without an answer')
            [CompletionResult]::new('--upload-time-per-mib', '--upload-time-per-mib', [CompletionResultType]::ParameterName, 'Time between a `get` finishing on the host and the file being downloadable, per MiB')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Cloud region named in X-CS-Region')
            [CompletionResult]::new('--invalid-utf8', '--invalid-utf8', [CompletionResultType]::ParameterName, 'How invalid UTF-8 in output is encoded in JSON')
            [CompletionResult]::new('--client', '--client', [CompletionResultType]::ParameterName, 'API clients accepted, as ID:SECRET[:SCOPE,SCOPE...] (repeatable). Default: the emulator-client / emulator-secret pair with every scope, plus readonly-client / readonly-secret (devices:read, real-time-response:read) and responder-client / responder-secret (adds real-time-response:write)')
            [CompletionResult]::new('--misbehave', '--misbehave', [CompletionResultType]::ParameterName, 'Misbehave in these ways (repeatable; see `Misbehaviour`)')
            [CompletionResult]::new('--hostname-match', '--hostname-match', [CompletionResultType]::ParameterName, 'How `hostname` is matched in device filters (see `HostnameMatch`)')
            [CompletionResult]::new('--host-name', '--host-name', [CompletionResultType]::ParameterName, 'Gives the next generated host this name (repeatable), e.g. prefix twins of a fixed host (`DESKTOP-010`, `DESKTOP-01-OLD`) or a name in another case (`desktop-02`)')
            [CompletionResult]::new('--script-time-scale', '--script-time-scale', [CompletionResultType]::ParameterName, 'Multiplies script time on a host: `Start-Sleep`/`sleep` in a script and its `-Timeout` (default 30 s, after Falcon-Toolkit''s help; psfalcon#56: a script that outlives its window is stopped). 0.01 makes a 60 s sleep take 600 ms, so tests stay short')
            [CompletionResult]::new('--cloud-move-time', '--cloud-move-time', [CompletionResultType]::ParameterName, 'Extra time after a retrieved file''s upload is complete during which `extracted-file-contents` still refuses it (404; inferred: the sample retries on any HTTP error, the real status is undocumented)')
            [CompletionResult]::new('--session-log-lag', '--session-log-lag', [CompletionResultType]::ParameterName, 'Session log entries stay invisible in sessions GET for this long after the command was sent (a log that lags behind the execute). Whether the real log lags is undocumented')
            [CompletionResult]::new('--session-log-order', '--session-log-order', [CompletionResultType]::ParameterName, 'Order of a session''s log entries in sessions GET (undocumented)')
            [CompletionResult]::new('--queued-session-lifetime', '--queued-session-lifetime', [CompletionResultType]::ParameterName, 'Lifetime of an offline-queued session: this long after its last activity (creation or a command). PSFalcon''s `Get-FalconQueue` help and FalconPy''s `queued_execute.py` give 7 days, with adding commands extending it; live sessions use `--session-idle`')
            [CompletionResult]::new('--queued-status', '--queued-status', [CompletionResultType]::ParameterName, 'What check-status answers for a queued command that has not run yet (undocumented)')
            [CompletionResult]::new('--containment-delay', '--containment-delay', [CompletionResultType]::ParameterName, 'How long a host stays `containment_pending` (or `lift_containment_pending`) after the action, counted from when it is online: an offline host stays pending until it is back')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--no-hostile-host', '--no-hostile-host', [CompletionResultType]::ParameterName, 'Leave out the host whose outputs are hostile (HOSTILE-01)')
            [CompletionResult]::new('--corrupt-downloads', '--corrupt-downloads', [CompletionResultType]::ParameterName, 'Flip one byte of every archive `extracted-file-contents` serves (a download corrupted in transit), so clients can prove they verify what they extract')
            [CompletionResult]::new('--redirect-first-token', '--redirect-first-token', [CompletionResultType]::ParameterName, 'Answer the first token request with a 308 redirect to the same URL (region redirect)')
            [CompletionResult]::new('--sha256-when-complete', '--sha256-when-complete', [CompletionResultType]::ParameterName, '`file/v2` hides a retrieved file''s `sha256` until its upload is complete (the emulator''s earlier reading). By default the hash shows as soon as the host has sent the file, as FalconPy''s `streaming_download_uber.py` sample expects: it takes `sha256` from the list and retries the download while the file is "moved to the cloud"')
            [CompletionResult]::new('--runscript-disabled', '--runscript-disabled', [CompletionResultType]::ParameterName, 'A response policy with `runscript` disabled: every `runscript` is refused with 40006 "command is not valid" (CAST#15, maintainer: check that the policy enables runscript)')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;demo' {
            [CompletionResult]::new('--host', '--host', [CompletionResultType]::ParameterName, 'Demo host to open (e.g. DESKTOP-01, SRV-LNX-01, MBP-01, HOSTILE-01)')
            [CompletionResult]::new('--hosts', '--hosts', [CompletionResultType]::ParameterName, 'Open a fleet instead: a simulated tenant of N hosts (Windows, Linux, macOS; a few offline), every one of them in the shell. `stack name ps` finds what only a few have')
            [CompletionResult]::new('--latency', '--latency', [CompletionResultType]::ParameterName, 'Time the simulated hosts take per command')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Run this command line and exit (repeatable)')
            [CompletionResult]::new('--command', '--command', [CompletionResultType]::ParameterName, 'Run this command line and exit (repeatable)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Write one JSON object per command instead of the output')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Do not neutralise control characters in host output')
            [CompletionResult]::new('--no-transcript', '--no-transcript', [CompletionResultType]::ParameterName, 'Do not write an audit transcript')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;auth' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove a profile: its secret from the OS keyring and its entry from the profiles file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtrsh;auth;login' {
            [CompletionResult]::new('--client-id', '--client-id', [CompletionResultType]::ParameterName, 'API client id (asked for when not given)')
            [CompletionResult]::new('--cloud', '--cloud', [CompletionResultType]::ParameterName, 'us-1, us-2, eu-1, us-gov-1, us-gov-2, auto (discover from the token endpoint) or an https:// URL. Default: the profile''s, else auto')
            [CompletionResult]::new('--member-cid', '--member-cid', [CompletionResultType]::ParameterName, 'MSSP: the child CID this profile acts in')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--no-verify', '--no-verify', [CompletionResultType]::ParameterName, 'Save without checking that the credentials obtain a token')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;auth;status' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;auth;logout' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;auth;help' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove a profile: its secret from the OS keyring and its entry from the profiles file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtrsh;auth;help;login' {
            break
        }
        'rtrsh;auth;help;status' {
            break
        }
        'rtrsh;auth;help;logout' {
            break
        }
        'rtrsh;auth;help;help' {
            break
        }
        'rtrsh;queue' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (default: `default`, or RTRSH_PROFILE)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'One JSON object per queued command (with its output once it ran)')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Do not neutralise control characters in host output')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;completions' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;man' {
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never')
            [CompletionResult]::new('--log-file', '--log-file', [CompletionResultType]::ParameterName, 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise')
            [CompletionResult]::new('--debug', '--debug', [CompletionResultType]::ParameterName, 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'rtrsh;help' {
            [CompletionResult]::new('emulator', 'emulator', [CompletionResultType]::ParameterValue, 'Run the loopback Falcon API emulator (for tests, benchmarks and demos)')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host')
            [CompletionResult]::new('auth', 'auth', [CompletionResultType]::ParameterValue, 'Manage stored credentials (profiles)')
            [CompletionResult]::new('queue', 'queue', [CompletionResultType]::ParameterValue, 'List the commands this API client queued for offline hosts (any run, last 7 days) and print the output of those that ran')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions for bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'rtrsh;help;emulator' {
            break
        }
        'rtrsh;help;demo' {
            break
        }
        'rtrsh;help;auth' {
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Remove a profile: its secret from the OS keyring and its entry from the profiles file')
            break
        }
        'rtrsh;help;auth;login' {
            break
        }
        'rtrsh;help;auth;status' {
            break
        }
        'rtrsh;help;auth;logout' {
            break
        }
        'rtrsh;help;queue' {
            break
        }
        'rtrsh;help;completions' {
            break
        }
        'rtrsh;help;man' {
            break
        }
        'rtrsh;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}


use builtin;
use str;

set edit:completion:arg-completer[rtrsh] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'rtrsh'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'rtrsh'= {
            cand --host 'Hostname to connect to (resolved through the devices API). Repeat for several hosts'
            cand --aid 'Host id (aid) to connect to, skipping the hostname lookup. Repeatable'
            cand --hosts-file 'Hosts to connect to: hostnames or aids, one per line'
            cand --filter 'Hosts matching this FQL filter, e.g. "platform_name:''Windows''+tags:''FalconGroupingTags/finance''"'
            cand --confirm-threshold 'Ask before a write-tier command runs on more than this many hosts'
            cand --batch-timeout 'How long a batch command may take on the server (1s to 10m)'
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --base-url 'Falcon API base URL, e.g. https://api.crowdstrike.com (http:// only for loopback)'
            cand --client-id 'API client id (default: $FALCON_CLIENT_ID). The secret is read from $FALCON_CLIENT_SECRET'
            cand --client-secret 'API client secret. Visible to other local users in the process list: prefer $FALCON_CLIENT_SECRET'
            cand --member-cid 'MSSP child CID to act in (default: $FALCON_MEMBER_CID)'
            cand -c 'Run this command line and exit (repeatable; runs in order)'
            cand --command 'Run this command line and exit (repeatable; runs in order)'
            cand --script 'Run the command lines in FILE and exit'
            cand --transcript 'Write the audit transcript to this file'
            cand --output-dir 'Save each host''s output log in DIR instead of the data directory'
            cand --pulse-interval 'How often to pulse the session to keep it alive'
            cand --command-timeout 'Give up waiting for a command after this long (it may still run on the host)'
            cand --evidence-dir 'Where `get` saves retrieved files (a folder per host, with a manifest.jsonl)'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --dry-run 'Print the resolved hosts and the tier each command would use, then exit'
            cand --yes 'Answer yes to the confirmation for write-tier commands on many hosts (for scripts)'
            cand --fail-fast 'In scripts, stop at the first command that fails'
            cand --json 'Write one JSON object per command to stdout instead of the output itself'
            cand --parsed 'With --json: the record of a command whose output is parsed (ps, netstat, reg query, ls, filehash, env, eventlog view, runscript) carries its records under `parsed`'
            cand --raw 'Do not neutralise control characters in host output (for pipes)'
            cand --queue-offline 'Queue commands for an offline host (they run when it comes back)'
            cand --no-transcript 'Do not write an audit transcript'
            cand --no-save-output 'Keep no copy of the commands'' output (by default each host''s full output is saved in a private log under the data directory; `save = false` under `[output]` in the config)'
            cand --no-extract '`get` keeps the downloaded 7z archive (password `infected`) instead of extracting it'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand emulator 'Run the loopback Falcon API emulator (for tests, benchmarks and demos)'
            cand demo 'Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host'
            cand auth 'Manage stored credentials (profiles)'
            cand queue 'List the commands this API client queued for offline hosts (any run, last 7 days) and print the output of those that ran'
            cand completions 'Print shell completions for bash, zsh, fish, powershell or elvish'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rtrsh;emulator'= {
            cand --listen 'Address to listen on; port 0 picks a free port (the URL is printed)'
            cand --hosts 'Number of simulated hosts'
            cand --seed 'Seed of the simulated world (same seed, same world)'
            cand --offline-share 'Share (0..1) of generated hosts that are offline'
            cand --child-cids 'Number of MSSP child CIDs (tokens may then name one with member_cid)'
            cand --latency 'Time a host takes to finish a command (e.g. 300ms)'
            cand --latency-jitter 'Random extra time per command, up to this much (deterministic per seed)'
            cand --slow-hosts 'Share (0..1) of hosts that are slow: every command on them, and the `pwd` of a session init, takes `--slow-latency` instead of `--latency` (a long tail; the same hosts for a given seed, listed as `slow` by `/_emulator/hosts`)'
            cand --slow-latency 'How long a command takes on a slow host (see `--slow-hosts`)'
            cand --chunk-size 'Bytes of output per sequence_id chunk'
            cand --chunk-model 'How chunked output is paged (see docs/protocol.md, "Sequence chunks")'
            cand --token-lifetime 'Lifetime of an OAuth2 access token (the real API: 30 minutes, expires_in 1799)'
            cand --session-idle 'An RTR session expires after this long without activity (init, pulse, command)'
            cand --rate-limit 'Requests per minute per CID (sliding window); 0 disables the limit'
            cand --batch-concurrency 'Batch requests (init, command, get) answered at once; more get 429 with a RetryAfter one second away. The API documents no such limit (0, the default: none); this plays the reading that one exists'
            cand --unauthenticated-rate-limit 'Requests per minute per source IP with a missing or invalid token'
            cand --retry-after-unit 'Unit of X-RateLimit-RetryAfter on a 429'
            cand --fault-5xx 'Share (0..1) of API requests answered with a 5xx (before or after the request took effect)'
            cand --fault-drop 'Share (0..1) of API requests whose connection is dropped without an answer'
            cand --upload-time-per-mib 'Time between a `get` finishing on the host and the file being downloadable, per MiB'
            cand --region 'Cloud region named in X-CS-Region'
            cand --invalid-utf8 'How invalid UTF-8 in output is encoded in JSON'
            cand --client 'API clients accepted, as ID:SECRET[:SCOPE,SCOPE...] (repeatable). Default: the emulator-client / emulator-secret pair with every scope, plus readonly-client / readonly-secret (devices:read, real-time-response:read) and responder-client / responder-secret (adds real-time-response:write)'
            cand --misbehave 'Misbehave in these ways (repeatable; see `Misbehaviour`)'
            cand --hostname-match 'How `hostname` is matched in device filters (see `HostnameMatch`)'
            cand --host-name 'Gives the next generated host this name (repeatable), e.g. prefix twins of a fixed host (`DESKTOP-010`, `DESKTOP-01-OLD`) or a name in another case (`desktop-02`)'
            cand --script-time-scale 'Multiplies script time on a host: `Start-Sleep`/`sleep` in a script and its `-Timeout` (default 30 s, after Falcon-Toolkit''s help; psfalcon#56: a script that outlives its window is stopped). 0.01 makes a 60 s sleep take 600 ms, so tests stay short'
            cand --cloud-move-time 'Extra time after a retrieved file''s upload is complete during which `extracted-file-contents` still refuses it (404; inferred: the sample retries on any HTTP error, the real status is undocumented)'
            cand --session-log-lag 'Session log entries stay invisible in sessions GET for this long after the command was sent (a log that lags behind the execute). Whether the real log lags is undocumented'
            cand --session-log-order 'Order of a session''s log entries in sessions GET (undocumented)'
            cand --queued-session-lifetime 'Lifetime of an offline-queued session: this long after its last activity (creation or a command). PSFalcon''s `Get-FalconQueue` help and FalconPy''s `queued_execute.py` give 7 days, with adding commands extending it; live sessions use `--session-idle`'
            cand --queued-status 'What check-status answers for a queued command that has not run yet (undocumented)'
            cand --containment-delay 'How long a host stays `containment_pending` (or `lift_containment_pending`) after the action, counted from when it is online: an offline host stays pending until it is back'
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --no-hostile-host 'Leave out the host whose outputs are hostile (HOSTILE-01)'
            cand --corrupt-downloads 'Flip one byte of every archive `extracted-file-contents` serves (a download corrupted in transit), so clients can prove they verify what they extract'
            cand --redirect-first-token 'Answer the first token request with a 308 redirect to the same URL (region redirect)'
            cand --sha256-when-complete '`file/v2` hides a retrieved file''s `sha256` until its upload is complete (the emulator''s earlier reading). By default the hash shows as soon as the host has sent the file, as FalconPy''s `streaming_download_uber.py` sample expects: it takes `sha256` from the list and retries the download while the file is "moved to the cloud"'
            cand --runscript-disabled 'A response policy with `runscript` disabled: every `runscript` is refused with 40006 "command is not valid" (CAST#15, maintainer: check that the policy enables runscript)'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;demo'= {
            cand --host 'Demo host to open (e.g. DESKTOP-01, SRV-LNX-01, MBP-01, HOSTILE-01)'
            cand --hosts 'Open a fleet instead: a simulated tenant of N hosts (Windows, Linux, macOS; a few offline), every one of them in the shell. `stack name ps` finds what only a few have'
            cand --latency 'Time the simulated hosts take per command'
            cand -c 'Run this command line and exit (repeatable)'
            cand --command 'Run this command line and exit (repeatable)'
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --json 'Write one JSON object per command instead of the output'
            cand --raw 'Do not neutralise control characters in host output'
            cand --no-transcript 'Do not write an audit transcript'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;auth'= {
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand login 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)'
            cand status 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained'
            cand logout 'Remove a profile: its secret from the OS keyring and its entry from the profiles file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rtrsh;auth;login'= {
            cand --client-id 'API client id (asked for when not given)'
            cand --cloud 'us-1, us-2, eu-1, us-gov-1, us-gov-2, auto (discover from the token endpoint) or an https:// URL. Default: the profile''s, else auto'
            cand --member-cid 'MSSP: the child CID this profile acts in'
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --no-verify 'Save without checking that the credentials obtain a token'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;auth;status'= {
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;auth;logout'= {
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;auth;help'= {
            cand login 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)'
            cand status 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained'
            cand logout 'Remove a profile: its secret from the OS keyring and its entry from the profiles file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rtrsh;auth;help;login'= {
        }
        &'rtrsh;auth;help;status'= {
        }
        &'rtrsh;auth;help;logout'= {
        }
        &'rtrsh;auth;help;help'= {
        }
        &'rtrsh;queue'= {
            cand --profile 'Credentials profile (default: `default`, or RTRSH_PROFILE)'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --json 'One JSON object per queued command (with its output once it ran)'
            cand --raw 'Do not neutralise control characters in host output'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;completions'= {
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;man'= {
            cand --profile 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"'
            cand --color 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never'
            cand --log-file 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise'
            cand --debug 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'rtrsh;help'= {
            cand emulator 'Run the loopback Falcon API emulator (for tests, benchmarks and demos)'
            cand demo 'Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host'
            cand auth 'Manage stored credentials (profiles)'
            cand queue 'List the commands this API client queued for offline hosts (any run, last 7 days) and print the output of those that ran'
            cand completions 'Print shell completions for bash, zsh, fish, powershell or elvish'
            cand man 'Print the man page (roff)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'rtrsh;help;emulator'= {
        }
        &'rtrsh;help;demo'= {
        }
        &'rtrsh;help;auth'= {
            cand login 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)'
            cand status 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained'
            cand logout 'Remove a profile: its secret from the OS keyring and its entry from the profiles file'
        }
        &'rtrsh;help;auth;login'= {
        }
        &'rtrsh;help;auth;status'= {
        }
        &'rtrsh;help;auth;logout'= {
        }
        &'rtrsh;help;queue'= {
        }
        &'rtrsh;help;completions'= {
        }
        &'rtrsh;help;man'= {
        }
        &'rtrsh;help;help'= {
        }
    ]
    $completions[$command]
}

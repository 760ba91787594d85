# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_rtrsh_global_optspecs
    string join \n host= aid= hosts-file= filter= dry-run yes confirm-threshold= batch-timeout= profile= base-url= client-id= client-secret= member-cid= c/command= script= fail-fast json parsed raw queue-offline transcript= no-transcript no-save-output output-dir= pulse-interval= command-timeout= evidence-dir= no-extract color= debug log-file= h/help V/version
end

function __fish_rtrsh_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_rtrsh_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_rtrsh_using_subcommand
    set -l cmd (__fish_rtrsh_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c rtrsh -n "__fish_rtrsh_needs_command" -l host -d 'Hostname to connect to (resolved through the devices API). Repeat for several hosts' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l aid -d 'Host id (aid) to connect to, skipping the hostname lookup. Repeatable' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l hosts-file -d 'Hosts to connect to: hostnames or aids, one per line' -r -F
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l filter -d 'Hosts matching this FQL filter, e.g. "platform_name:\'Windows\'+tags:\'FalconGroupingTags/finance\'"' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l confirm-threshold -d 'Ask before a write-tier command runs on more than this many hosts' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l batch-timeout -d 'How long a batch command may take on the server (1s to 10m)' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l base-url -d 'Falcon API base URL, e.g. https://api.crowdstrike.com (http:// only for loopback)' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l client-id -d 'API client id (default: $FALCON_CLIENT_ID). The secret is read from $FALCON_CLIENT_SECRET' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l client-secret -d 'API client secret. Visible to other local users in the process list: prefer $FALCON_CLIENT_SECRET' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l member-cid -d 'MSSP child CID to act in (default: $FALCON_MEMBER_CID)' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -s c -l command -d 'Run this command line and exit (repeatable; runs in order)' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l script -d 'Run the command lines in FILE and exit' -r -F
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l transcript -d 'Write the audit transcript to this file' -r -F
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l output-dir -d 'Save each host\'s output log in DIR instead of the data directory' -r -F
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l pulse-interval -d 'How often to pulse the session to keep it alive' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l command-timeout -d 'Give up waiting for a command after this long (it may still run on the host)' -r
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l evidence-dir -d 'Where `get` saves retrieved files (a folder per host, with a manifest.jsonl)' -r -F
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l dry-run -d 'Print the resolved hosts and the tier each command would use, then exit'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l yes -d 'Answer yes to the confirmation for write-tier commands on many hosts (for scripts)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l fail-fast -d 'In scripts, stop at the first command that fails'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l json -d 'Write one JSON object per command to stdout instead of the output itself'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l parsed -d 'With --json: the record of a command whose output is parsed (ps, netstat, reg query, ls, filehash, env, eventlog view, runscript) carries its records under `parsed`'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l raw -d 'Do not neutralise control characters in host output (for pipes)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l queue-offline -d 'Queue commands for an offline host (they run when it comes back)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l no-transcript -d 'Do not write an audit transcript'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l no-save-output -d 'Keep no copy of the commands\' output (by default each host\'s full output is saved in a private log under the data directory; `save = false` under `[output]` in the config)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l no-extract -d '`get` keeps the downloaded 7z archive (password `infected`) instead of extracting it'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -s V -l version -d 'Print version'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "emulator" -d 'Run the loopback Falcon API emulator (for tests, benchmarks and demos)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "demo" -d 'Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "auth" -d 'Manage stored credentials (profiles)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "queue" -d 'List the commands this API client queued for offline hosts (any run, last 7 days) and print the output of those that ran'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "completions" -d 'Print shell completions for bash, zsh, fish, powershell or elvish'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c rtrsh -n "__fish_rtrsh_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l listen -d 'Address to listen on; port 0 picks a free port (the URL is printed)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l hosts -d 'Number of simulated hosts' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l seed -d 'Seed of the simulated world (same seed, same world)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l offline-share -d 'Share (0..1) of generated hosts that are offline' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l child-cids -d 'Number of MSSP child CIDs (tokens may then name one with member_cid)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l latency -d 'Time a host takes to finish a command (e.g. 300ms)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l latency-jitter -d 'Random extra time per command, up to this much (deterministic per seed)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l slow-hosts -d 'Share (0..1) of hosts that are slow: every command on them, and the `pwd` of a session init, takes `--slow-latency` instead of `--latency` (a long tail; the same hosts for a given seed, listed as `slow` by `/_emulator/hosts`)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l slow-latency -d 'How long a command takes on a slow host (see `--slow-hosts`)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l chunk-size -d 'Bytes of output per sequence_id chunk' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l chunk-model -d 'How chunked output is paged (see docs/protocol.md, "Sequence chunks")' -r -f -a "next\t'A non-final chunk has `complete:false` and `sequence_id` = the next index to fetch'
echo\t'A non-final chunk has `complete:false` and `sequence_id` = the index that was requested'
splunk\t'Every chunk after completion has `complete:true`; `sequence_id` names the next index, absent on the last chunk (the Splunk connector\'s reading)'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l token-lifetime -d 'Lifetime of an OAuth2 access token (the real API: 30 minutes, expires_in 1799)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l session-idle -d 'An RTR session expires after this long without activity (init, pulse, command)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l rate-limit -d 'Requests per minute per CID (sliding window); 0 disables the limit' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l batch-concurrency -d 'Batch requests (init, command, get) answered at once; more get 429 with a RetryAfter one second away. The API documents no such limit (0, the default: none); this plays the reading that one exists' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l unauthenticated-rate-limit -d 'Requests per minute per source IP with a missing or invalid token' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l retry-after-unit -d 'Unit of X-RateLimit-RetryAfter on a 429' -r -f -a "seconds\t''
millis\t''"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l fault-5xx -d 'Share (0..1) of API requests answered with a 5xx (before or after the request took effect)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l fault-drop -d 'Share (0..1) of API requests whose connection is dropped without an answer' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l upload-time-per-mib -d 'Time between a `get` finishing on the host and the file being downloadable, per MiB' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l region -d 'Cloud region named in X-CS-Region' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l invalid-utf8 -d 'How invalid UTF-8 in output is encoded in JSON' -r -f -a "replace\t'Replace each invalid sequence with U+FFFD, as Go\'s encoding/json does'
raw\t'Put the raw bytes into the JSON string (the body is then not valid UTF-8): the worst case a client must survive'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l client -d 'API clients accepted, as ID:SECRET[:SCOPE,SCOPE...] (repeatable). Default: the emulator-client / emulator-secret pair with every scope, plus readonly-client / readonly-secret (devices:read, real-time-response:read) and responder-client / responder-secret (adds real-time-response:write)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l misbehave -d 'Misbehave in these ways (repeatable; see `Misbehaviour`)' -r -f -a "absurd-numbers\t'Absurd numbers in every numeric field a client reads: `expires_in`, `sequence_id`, file `size` and pagination `total` are 2^64 - 1'
endless-output\t'A command never completes: every status check answers `complete: false` with a line of output and the next `sequence_id`'
hostile-errors\t'Every error message carries an OSC 52 clipboard write, a bidi override and a CR'
bad-hashes\t'A retrieved file\'s `sha256` in the file list is not a SHA-256 (and holds an escape)'
retry-after-seconds\t'The first API request (other than OAuth2) is answered 429 with a `RetryAfter` 2 s away'
retry-after-century\t'The first API request (other than OAuth2) is answered 429 with a `RetryAfter` in 2100'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l hostname-match -d 'How `hostname` is matched in device filters (see `HostnameMatch`)' -r -f -a "prefix\t'What real tenants do: `hostname:\'X\'` is a case-insensitive prefix match (the API appends the `*`; a leading `*` finds nothing) and `hostname:[\'X\']` an exact, case-sensitive one (CrowdStrike maintainers in psfalcon#509 and #428 and Falcon-Toolkit#192; users in psfalcon#425 and falconpy#935)'
exact\t'Case-insensitive equality (with `*` wildcards) in both forms: the emulator\'s reading before the evidence was found, kept so clients are proven under both'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l host-name -d 'Gives the next generated host this name (repeatable), e.g. prefix twins of a fixed host (`DESKTOP-010`, `DESKTOP-01-OLD`) or a name in another case (`desktop-02`)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l script-time-scale -d 'Multiplies script time on a host: `Start-Sleep`/`sleep` in a script and its `-Timeout` (default 30 s, after Falcon-Toolkit\'s help; psfalcon#56: a script that outlives its window is stopped). 0.01 makes a 60 s sleep take 600 ms, so tests stay short' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l cloud-move-time -d 'Extra time after a retrieved file\'s upload is complete during which `extracted-file-contents` still refuses it (404; inferred: the sample retries on any HTTP error, the real status is undocumented)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l session-log-lag -d 'Session log entries stay invisible in sessions GET for this long after the command was sent (a log that lags behind the execute). Whether the real log lags is undocumented' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l session-log-order -d 'Order of a session\'s log entries in sessions GET (undocumented)' -r -f -a "oldest-first\t'In the order the commands were sent'
newest-first\t'The latest command first'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l queued-session-lifetime -d 'Lifetime of an offline-queued session: this long after its last activity (creation or a command). PSFalcon\'s `Get-FalconQueue` help and FalconPy\'s `queued_execute.py` give 7 days, with adding commands extending it; live sessions use `--session-idle`' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l queued-status -d 'What check-status answers for a queued command that has not run yet (undocumented)' -r -f -a "pending\t'200 with `complete:false` and no output, like a command still running'
not-found\t'404 "Could not find command": no result exists yet'
sensor-offline\t'404 with code 40401 "Could not establish sensor comms", the code the API gives for an offline host elsewhere (psfalcon#79)'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l containment-delay -d 'How long a host stays `containment_pending` (or `lift_containment_pending`) after the action, counted from when it is online: an offline host stays pending until it is back' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l no-hostile-host -d 'Leave out the host whose outputs are hostile (HOSTILE-01)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l corrupt-downloads -d 'Flip one byte of every archive `extracted-file-contents` serves (a download corrupted in transit), so clients can prove they verify what they extract'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l redirect-first-token -d 'Answer the first token request with a 308 redirect to the same URL (region redirect)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l sha256-when-complete -d '`file/v2` hides a retrieved file\'s `sha256` until its upload is complete (the emulator\'s earlier reading). By default the hash shows as soon as the host has sent the file, as FalconPy\'s `streaming_download_uber.py` sample expects: it takes `sha256` from the list and retries the download while the file is "moved to the cloud"'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l runscript-disabled -d 'A response policy with `runscript` disabled: every `runscript` is refused with 40006 "command is not valid" (CAST#15, maintainer: check that the policy enables runscript)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand emulator" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l host -d 'Demo host to open (e.g. DESKTOP-01, SRV-LNX-01, MBP-01, HOSTILE-01)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l hosts -d 'Open a fleet instead: a simulated tenant of N hosts (Windows, Linux, macOS; a few offline), every one of them in the shell. `stack name ps` finds what only a few have' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l latency -d 'Time the simulated hosts take per command' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -s c -l command -d 'Run this command line and exit (repeatable)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l json -d 'Write one JSON object per command instead of the output'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l raw -d 'Do not neutralise control characters in host output'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l no-transcript -d 'Do not write an audit transcript'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "login" -d 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "status" -d 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "logout" -d 'Remove a profile: its secret from the OS keyring and its entry from the profiles file'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and not __fish_seen_subcommand_from login status logout help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l client-id -d 'API client id (asked for when not given)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l cloud -d 'us-1, us-2, eu-1, us-gov-1, us-gov-2, auto (discover from the token endpoint) or an https:// URL. Default: the profile\'s, else auto' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l member-cid -d 'MSSP: the child CID this profile acts in' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l no-verify -d 'Save without checking that the credentials obtain a token'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from login" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from status" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from status" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from status" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from status" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from logout" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from logout" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from logout" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from logout" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from logout" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "login" -d 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "logout" -d 'Remove a profile: its secret from the OS keyring and its entry from the profiles file'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand auth; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -l profile -d 'Credentials profile (default: `default`, or RTRSH_PROFILE)' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -l json -d 'One JSON object per queued command (with its output once it ran)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -l raw -d 'Do not neutralise control characters in host output'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand queue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand completions" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand completions" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand completions" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand completions" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand man" -l profile -d 'Credentials profile (see `rtrsh auth`); default: $RTRSH_PROFILE or "default"' -r
complete -c rtrsh -n "__fish_rtrsh_using_subcommand man" -l color -d 'Colour on the terminal: auto (on a terminal, unless $NO_COLOR is set), always or never' -r -f -a "auto\t'On a terminal, unless `NO_COLOR` is set'
always\t'Always, even into pipes and files (and despite `NO_COLOR`)'
never\t'Never'"
complete -c rtrsh -n "__fish_rtrsh_using_subcommand man" -l log-file -d 'Write the log to FILE (appended, private) instead of stderr; logs at debug level unless RUST_LOG says otherwise' -r -F
complete -c rtrsh -n "__fish_rtrsh_using_subcommand man" -l debug -d 'Log each API request (method, path, status, duration, trace id), retries and session decisions, for a bug report: never a secret, token or command output. Like RUST_LOG=debug (which takes any `tracing` filter). With a subcommand, after it: `rtrsh auth status --debug`'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand man" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "emulator" -d 'Run the loopback Falcon API emulator (for tests, benchmarks and demos)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "demo" -d 'Try rtrsh without a tenant: start the emulator in-process and open a shell on a demo host'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "auth" -d 'Manage stored credentials (profiles)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "queue" -d 'List the commands this API client queued for offline hosts (any run, last 7 days) and print the output of those that ran'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "completions" -d 'Print shell completions for bash, zsh, fish, powershell or elvish'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "man" -d 'Print the man page (roff)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and not __fish_seen_subcommand_from emulator demo auth queue completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "login" -d 'Store an API client in a profile: the secret in the OS keyring, id and cloud in the profiles file. Checks that a token can be obtained first (and discovers the cloud)'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "status" -d 'Show which profile, cloud and client id are in use (never the secret) and check that a token can be obtained'
complete -c rtrsh -n "__fish_rtrsh_using_subcommand help; and __fish_seen_subcommand_from auth" -f -a "logout" -d 'Remove a profile: its secret from the OS keyring and its entry from the profiles file'

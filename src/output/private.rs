//! Files and folders only the user may read (0600 / 0700 on Unix): the audit transcript, saved
//! output, evidence, `> FILE`, the prompt's history and the profiles file all hold what an
//! analyst ran and saw. On Windows they inherit the user profile's ACLs (`%APPDATA%`,
//! `%LOCALAPPDATA%`, the folders the analyst chose), which only the user and administrators
//! can read by default; nothing more is set there.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Creates `dir` and its missing parents, 0700 on Unix (an existing folder is left as it is).
pub fn dirs(dir: &Path) -> io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
}

/// Options that create a file 0600 on Unix; the caller picks read/write/append/create.
pub fn options() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o
}

/// [`options`] that also refuse to follow a symbolic link at the last component (a planted link
/// must not redirect evidence or a transcript elsewhere).
pub fn options_nofollow() -> OpenOptions {
    #[allow(unused_mut)]
    let mut o = options();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        if let Ok(flags) = i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()) {
            o.custom_flags(flags);
        }
    }
    o
}

/// Narrows a file rtrsh opened, which may have been there before, to 0600: through the open
/// handle, so it is the file that was opened whatever happens to its path. Best effort.
pub fn narrow(file: &std::fs::File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = file;
}

/// Narrows a file that another library wrote (the line editor's history) to 0600, and its
/// folder to 0700. Best effort: a failure leaves the file as it was.
pub fn restrict(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
    }

    #[test]
    fn folders_and_files_are_the_users_alone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("a").join("b");
        super::dirs(&dir).expect("dirs");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        let f = dir.join("f");
        super::options()
            .create(true)
            .append(true)
            .open(&f)
            .expect("open");
        assert_eq!(mode(&f), 0o600);
        let link = dir.join("link");
        // unix-only: this test module is cfg(all(test, unix)).
        std::os::unix::fs::symlink(&f, &link).expect("symlink");
        assert!(super::options_nofollow().append(true).open(&link).is_err());
        let loose = dir.join("loose");
        std::fs::write(&loose, "x").expect("write");
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        super::restrict(&loose);
        assert_eq!(mode(&loose), 0o600);
    }
}

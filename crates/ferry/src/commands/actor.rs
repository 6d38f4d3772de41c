//! Who did it, for the audit log: the operating-system user running the command (not an
//! environment variable anyone can set), with an optional `--label` such as a ticket number.

use clap::Args;

/// The `--label` of audited commands.
#[derive(Debug, Default, Clone, Args)]
pub struct AuditArgs {
    /// A note recorded beside your user name in the audit log, e.g. a ticket number (INC-42).
    #[arg(long)]
    pub label: Option<String>,
}

impl AuditArgs {
    /// The audit actor, `cli:<os user>` or `cli:<os user> (<label>)`; a bad label is an error
    /// naming what is wrong with it.
    pub fn actor(&self) -> Result<String, String> {
        let user = os_user();
        match &self.label {
            None => Ok(format!("cli:{user}")),
            Some(label) => {
                check_label(label)?;
                Ok(format!("cli:{user} ({label})"))
            }
        }
    }
}

/// Labels are short, one line, printable: what a ticket id or a short reason needs.
fn check_label(label: &str) -> Result<(), String> {
    let n = label.chars().count();
    if n == 0 || n > 64 {
        return Err(format!("--label must have 1 to 64 characters, got {n}"));
    }
    if let Some(c) = label.chars().find(|c| !(c.is_alphanumeric() || " -_.:#/@+".contains(*c))) {
        return Err(format!(
            "--label `{}` contains {c:?}; use letters, digits, spaces and - _ . : # / @ +",
            label.escape_debug()
        ));
    }
    Ok(())
}

/// The name of the process's real user, from the password database; `uid <n>` when it has no
/// entry (a container user without one).
pub fn os_user() -> String {
    #[cfg(unix)]
    {
        // SAFETY: getuid cannot fail; getpwuid_r writes into the buffers we own and the
        // pointers it returns point into them, read before the buffers go away.
        unsafe {
            let uid = libc::getuid();
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut buf = vec![0 as libc::c_char; 4096];
            let mut result: *mut libc::passwd = std::ptr::null_mut();
            let rc = libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
            if rc == 0 && !result.is_null() && !pwd.pw_name.is_null() {
                let name = std::ffi::CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned();
                if !name.is_empty() {
                    return name;
                }
            }
            format!("uid {uid}")
        }
    }
    #[cfg(not(unix))]
    {
        "unknown".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_checked() {
        let ok = AuditArgs { label: Some("INC-42".into()) }.actor().unwrap();
        assert!(ok.starts_with("cli:") && ok.ends_with(" (INC-42)"), "{ok}");
        let err = AuditArgs { label: Some("a\nb".into()) }.actor().unwrap_err();
        assert!(err.contains("--label") && err.contains("'\\n'"), "{err}");
        assert!(AuditArgs { label: Some(String::new()) }.actor().is_err());
        assert!(AuditArgs { label: Some("x".repeat(65)) }.actor().is_err());
    }
}

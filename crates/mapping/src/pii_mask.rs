//! Masking of personal values, shared by the `mask*` filters and by every error message
//! that has to mention a value which might be buyer PII.

/// Keeps the first character of each word: `Jane Doe` → `J*** D**`.
pub fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for ch in text.chars() {
        if ch.is_whitespace() || ch == '-' || ch == ',' {
            out.push(ch);
            at_word_start = true;
        } else if at_word_start {
            out.push(ch);
            at_word_start = false;
        } else {
            out.push('*');
        }
    }
    out
}

/// Keeps the first character of the local part and the domain: `jane@example.com` → `j***@example.com`.
pub fn mask_email(text: &str) -> String {
    match text.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => mask_text(text),
    }
}

/// Keeps the last two digits: `+1 206 555 0100` → `***********00`.
pub fn mask_phone(text: &str) -> String {
    let digits: Vec<char> = text.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(2);
    digits.iter().enumerate().map(|(i, d)| if i < keep { '*' } else { *d }).collect()
}

//! `ioc-tracker test-email [--to ADDRESS]`: check that the `[email]` settings are complete
//! (smtp_host, from, to), connect the way a run would (STARTTLS or TLS, AUTH), send a short test
//! message, and say on stderr what happened at each step: connect, tls, auth, send, accepted.
//! Exit 0 when the server accepted the message, 1 with the error otherwise.
//!
//! It sends no report and touches no workbook; the steps and the error come from `email`.

use super::{AppError, ExitCode};
use crate::cli::TestEmailArgs;
use crate::config::{EmailSettings, Settings, SmtpAuth, SmtpSecurity};
use crate::email::{self, EmailError, RetryPolicy};
use crate::output::Output;

pub async fn test_email(
    settings: &Settings,
    args: &TestEmailArgs,
    out: &Output,
) -> Result<ExitCode, AppError> {
    let mut settings = settings.email.clone();
    if let Some(to) = &args.to {
        settings.to = vec![to.clone()];
        settings.cc.clear();
    }
    // settings first: host and credentials (transport), then from and to (the message)
    let transport = email::transport(&settings)?;
    let msg = email::test_message(&settings)?;
    let server = email::server_name(&settings);

    out.info(&format!(
        "connect: {server} ({})",
        security_words(&settings)
    ));
    if let Err(e) = email::verify(&transport, &settings).await {
        out.info(&format!("{}: failed", step_of(&e)));
        return Err(e.into());
    }
    out.info("connect: ok");
    out.info(&format!("tls: {}", tls_words(&settings)));
    out.info(&format!("auth: {}", auth_words(&settings)));

    let recipients = settings
        .to
        .iter()
        .chain(&settings.cc)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    out.info(&format!("send: test message to {recipients}"));
    let outcome = match email::deliver(&transport, &msg, &settings, RetryPolicy::default()).await {
        Ok(o) => o,
        Err(e) => {
            out.info("send: failed");
            return Err(e.into());
        }
    };
    out.info(&format!("accepted: {}", outcome.reply));

    if out.json {
        out.result_json(&serde_json::json!({
            "sent": true,
            "server": outcome.server,
            "reply": outcome.reply,
            "attempts": outcome.attempts,
            "to": settings.to,
            "cc": settings.cc,
        }));
    } else {
        out.result(&format!(
            "test message accepted by {} for {recipients}",
            outcome.server
        ));
    }
    Ok(ExitCode::Ok)
}

fn security_words(s: &EmailSettings) -> &'static str {
    match s.security {
        SmtpSecurity::Starttls => "STARTTLS",
        SmtpSecurity::Tls => "implicit TLS",
        SmtpSecurity::None => "no TLS",
    }
}

fn tls_words(s: &EmailSettings) -> String {
    let roots = if s.ca_file.is_some() {
        "the system roots and [email] ca_file"
    } else {
        "the system roots"
    };
    match s.security {
        SmtpSecurity::Starttls => format!("STARTTLS, server certificate verified against {roots}"),
        SmtpSecurity::Tls => format!("implicit TLS, server certificate verified against {roots}"),
        SmtpSecurity::None => "none: the connection is not encrypted".into(),
    }
}

fn auth_words(s: &EmailSettings) -> String {
    let user = s.username.as_deref().unwrap_or("");
    match (s.auth, user.is_empty()) {
        (SmtpAuth::Xoauth2, _) => format!("logged in as {user:?} with XOAUTH2"),
        (_, true) => "none configured (the server accepted an anonymous sender)".into(),
        (SmtpAuth::Plain, false) => format!("logged in as {user:?} with PLAIN"),
        (SmtpAuth::Login, false) => format!("logged in as {user:?} with LOGIN"),
        (SmtpAuth::Auto, false) => format!("logged in as {user:?} (PLAIN or LOGIN)"),
    }
}

/// The step an error belongs to, for the `<step>: failed` line.
fn step_of(e: &EmailError) -> &'static str {
    match e {
        EmailError::Tls { .. } => "tls",
        EmailError::Auth { .. } | EmailError::Credentials(_) => "auth",
        EmailError::Protocol { reason, .. } if reason.contains("STARTTLS") => "tls",
        EmailError::Protocol { reason, .. } if reason.contains("authentication") => "auth",
        _ => "connect",
    }
}

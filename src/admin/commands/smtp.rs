//! `kontor smtp test`: sends one mail through the configured server at once (no outbox, no
//! running server needed) and prints the server's answer, or its words when it refused.

use crate::admin::{Failure, say};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::email::smtp::{Outcome, Server};
use crate::domain::email::{Mail, events};
use crate::error::Code;
use clap::Subcommand;

/// `kontor smtp …`
#[derive(Debug, Subcommand)]
pub enum SmtpCmd {
    /// Send a test mail through [smtp] now and print the server's answer
    Test {
        /// Recipient address
        #[arg(long)]
        to: String,
    },
}

impl SmtpCmd {
    /// Runs it.
    pub fn run(&self, config: &Config, clock: &Clock, json: bool) -> Result<(), Failure> {
        let SmtpCmd::Test { to } = self;
        let Some(smtp) = config.smtp.clone() else {
            return Err(Failure::new(
                Code::InvalidInput,
                "email is off: add an [smtp] section to the configuration (see the operator \
                 guide, \"Email\")",
            ));
        };
        let target = format!("{}:{} ({:?})", smtp.host, smtp.port, smtp.security).to_lowercase();
        let mail = Mail::new(smtp, &config.base_url());
        let message = events::test_mail(&mail, to, clock.now())
            .map_err(|e| Failure::new(Code::InvalidInput, e.to_string()))?;
        if !json {
            say(&format!("sending a test mail to {to} through {target} …"));
        }
        let server =
            Server::new(&mail.smtp).map_err(|e| Failure::new(Code::InvalidInput, e.to_string()))?;
        let to = crate::domain::agents::normalize_email(to)
            .map_err(|e| Failure::new(Code::InvalidInput, e.to_string()))?;
        match server.send(&mail.smtp.from, &to, &message) {
            Outcome::Accepted(answer) => {
                if json {
                    println!("{}", serde_json::json!({ "ok": true, "answer": answer }));
                } else {
                    say(&format!("accepted: {answer}"));
                }
                Ok(())
            }
            Outcome::Refused(why) | Outcome::Retry(why) | Outcome::Unreachable(why) => {
                Err(Failure::new(Code::CheckFailed, format!("not sent: {why}")))
            }
        }
    }
}

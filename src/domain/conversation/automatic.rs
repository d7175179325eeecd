//! Automatic entries when a chat starts (author `auto`, marked so in every transcript): the
//! site's greeting as the visitor saw it before the opt-in, then, when others wait ahead of
//! them, their place in the queue with the usual wait, computed from the chats accepted in the
//! last hour (the median), never invented: without such chats the message promises no time.
//! First in line, the widget's status line shows the place and no entry is added.

use super::visitor::VisitorCtx;
use super::{Conversations, Effects, Entry, Ledger};
use crate::error::Result;
use crate::i18n::{Lang, business_text, t};

/// The window the usual wait is measured over.
const WAIT_WINDOW: i64 = 3600;

/// The queue message for place `position` and a median wait of `wait` seconds, if known.
pub fn queued_text(lang: Lang, position: usize, wait: Option<i64>) -> String {
    let pos = position.to_string();
    let (key, minutes) = match wait {
        None => ("widget.auto_queued", String::new()),
        Some(w) if w <= 60 => ("widget.auto_queued_minute", String::new()),
        // Rounded up: "within 2 minutes" for 61-120 seconds.
        Some(w) => ("widget.auto_queued_minutes", ((w + 59) / 60).to_string()),
    };
    t(lang, key)
        .replace("{position}", &pos)
        .replace("{minutes}", &minutes)
}

impl Conversations {
    /// Appends the greeting and the queue message to a chat that just started.
    pub(super) fn automatic_on_start(
        &mut self,
        ledger: &mut dyn Ledger,
        ctx: &VisitorCtx,
        id: i64,
        lang: Lang,
        fx: &mut Effects,
    ) -> Result<()> {
        let g = &ctx.greeting;
        let greeting = business_text(lang, &g.site_lang, &g.de, &g.en)
            .trim()
            .to_string();
        if !greeting.is_empty() {
            self.automatic(ledger, id, &greeting, ctx.at, fx)?;
        }
        if let Some(position) = self.queue_position(id).filter(|p| *p >= 2) {
            let wait = ledger.median_wait(ctx.at - WAIT_WINDOW)?;
            let text = queued_text(lang, position, wait);
            self.automatic(ledger, id, &text, ctx.at, fx)?;
        }
        Ok(())
    }

    /// Appends the business's message for a chat an agent just took, if it wrote one: in
    /// German for German visitors, else in English (each falling back to the other).
    pub(super) fn automatic_on_accept(
        &mut self,
        ledger: &mut dyn Ledger,
        id: i64,
        at: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let Some(lang) = self.convs.get(&id).map(|c| c.lang) else {
            return Ok(());
        };
        let (de, en) = &self.accept_message;
        let text = business_text(lang, "en", de, en).trim().to_string();
        if text.is_empty() {
            return Ok(());
        }
        self.automatic(ledger, id, &text, at, fx)
    }

    fn automatic(
        &mut self,
        ledger: &mut dyn Ledger,
        id: i64,
        text: &str,
        at: i64,
        fx: &mut Effects,
    ) -> Result<()> {
        let entry = Entry {
            author: "auto",
            agent_id: None,
            text,
            client_id: None,
            file: None,
        };
        self.append(ledger, id, entry, at, fx).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_wait_is_said_only_when_measured_and_rounded_up() {
        assert_eq!(
            queued_text(Lang::En, 2, None),
            "You are number 2 in the queue. Someone will be with you shortly."
        );
        assert_eq!(
            queued_text(Lang::En, 1, Some(45)),
            "You are number 1 in the queue. Chats here are usually answered within a minute."
        );
        assert_eq!(
            queued_text(Lang::De, 3, Some(61)),
            "Sie sind Nummer 3 in der Warteschlange. Chats werden hier meist innerhalb von 2 Minuten beantwortet."
        );
    }
}

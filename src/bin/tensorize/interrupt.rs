//! Ctrl-C without a partial output. Until the output is written nothing of it exists on disk,
//! so an interrupt then exits at once. While the library's atomic writer fills its temporary
//! file and renames it, an interrupt only marks the run as interrupted: the write (seconds at
//! most) finishes, leaving a whole OUT and no temporary file, and the command then exits 130.
//! A flag instead of a signal-safe cleanup keeps the binary free of the writer's temporary
//! file names, which are the library's business.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::failure::{Failure, INTERRUPTED};

const IDLE: u8 = 0;
const WRITING: u8 = 1;
const INTERRUPTED_WHILE_WRITING: u8 = 2;
const EXITING: u8 = 3;

static STATE: AtomicU8 = AtomicU8::new(IDLE);

/// Installs the Ctrl-C handler (once per process; a second call is a no-op).
pub fn install() {
    let _ = ctrlc::set_handler(|| {
        // One atomic step for both states, so a write that ends between two checks cannot
        // swallow the interrupt.
        let previous = STATE.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| match s {
            IDLE => Some(EXITING),
            WRITING => Some(INTERRUPTED_WHILE_WRITING),
            _ => None,
        });
        if previous == Ok(IDLE) {
            eprintln!("\ninterrupted: nothing written");
            std::process::exit(INTERRUPTED);
        }
    });
}

/// Runs `write` with interrupts deferred until it returns; an interrupt during it turns into
/// a [`Failure`] with exit code 130 afterwards (the file it wrote is whole).
pub fn while_writing<R>(write: impl FnOnce() -> Result<R, Failure>) -> Result<R, Failure> {
    if STATE.compare_exchange(IDLE, WRITING, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        // The handler has won the race and is exiting the process; write nothing.
        return Err(Failure::new(INTERRUPTED, "interrupted: nothing written"));
    }
    let result = write();
    let interrupted = STATE.swap(IDLE, Ordering::SeqCst) == INTERRUPTED_WHILE_WRITING;
    match result {
        Ok(_) if interrupted => {
            Err(Failure::new(INTERRUPTED, "interrupted while writing; the output was completed"))
        }
        other => other,
    }
}

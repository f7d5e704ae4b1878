//! hyper's timer for the header read timeout, on tokio's clock (so a
//! paused clock moves it), with its sleeps kept for reuse.
//!
//! hyper takes a new sleep each time a connection waits for a request's
//! head and drops it once the head is read: with tokio's own timer that
//! registers a timer entry and removes it again for every request of a
//! kept-alive connection. Here a dropped sleep goes back to a pool and the
//! next wait moves it to its new deadline, which tokio does in place for a
//! later deadline, without touching its timer wheel.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::time::Sleep;

/// The most sleeps kept: about the connections waiting at once.
const KEPT: usize = 1024;

/// Sleeps of one runtime's timer (one server thread's: a sleep belongs
/// to the runtime that made it).
type Pool = Arc<Mutex<Vec<Pin<Box<Sleep>>>>>;

/// A [`hyper::rt::Timer`] on tokio's clock whose sleeps are reused.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderTimer {
    pool: Pool,
}

impl hyper::rt::Timer for HeaderTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(self.now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        let deadline = tokio::time::Instant::from_std(deadline);
        let kept = self.lock().pop();
        let sleep = match kept {
            Some(mut sleep) => {
                sleep.as_mut().reset(deadline);
                sleep
            }
            None => Box::pin(tokio::time::sleep_until(deadline)),
        };
        Box::pin(Kept {
            sleep: Some(sleep),
            pool: self.pool.clone(),
        })
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

impl HeaderTimer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Pin<Box<Sleep>>>> {
        lock(&self.pool)
    }
}

/// The pool's sleeps: usable whatever panicked while they were held.
fn lock(pool: &Pool) -> std::sync::MutexGuard<'_, Vec<Pin<Box<Sleep>>>> {
    pool.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A sleep that goes back to its pool when dropped.
struct Kept {
    /// Always there until dropped.
    sleep: Option<Pin<Box<Sleep>>>,
    pool: Pool,
}

impl Future for Kept {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.sleep.as_mut() {
            Some(sleep) => sleep.as_mut().poll(cx),
            None => Poll::Ready(()),
        }
    }
}

impl hyper::rt::Sleep for Kept {}

impl Drop for Kept {
    fn drop(&mut self) {
        if let Some(sleep) = self.sleep.take() {
            let mut pool = lock(&self.pool);
            if pool.len() < KEPT {
                pool.push(sleep);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Timer;

    #[tokio::test(start_paused = true)]
    async fn a_reused_sleep_waits_for_its_new_deadline_on_tokio_s_clock() {
        let timer = HeaderTimer::default();
        let first = timer.sleep(Duration::from_secs(10));
        drop(first);
        assert_eq!(timer.lock().len(), 1, "the sleep went back to the pool");
        let start = tokio::time::Instant::now();
        timer.sleep(Duration::from_secs(10)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        // A sleep that has fired is moved again too.
        let start = tokio::time::Instant::now();
        timer.sleep(Duration::from_secs(3)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert_eq!(timer.lock().len(), 1, "one sleep served every wait");
    }

    #[tokio::test(start_paused = true)]
    async fn an_earlier_deadline_is_kept_too() {
        let timer = HeaderTimer::default();
        let mut far = timer.sleep(Duration::from_secs(60));
        // Polled once, so registered at its far deadline, then given back.
        let pending = std::future::poll_fn(|cx| Poll::Ready(far.as_mut().poll(cx).is_pending()));
        assert!(pending.await);
        drop(far);
        let start = tokio::time::Instant::now();
        timer.sleep(Duration::from_secs(2)).await;
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    }
}

//! The export runtime: a small tokio runtime that Beacon owns and runs every exporter on.
//!
//! Exporters built on tonic or an async HTTP client need a tokio reactor. Running them on the
//! application's runtime is the root of the known opentelemetry-rust failures: flush and shutdown
//! deadlock on a `current_thread` runtime (opentelemetry-rust #2583, #3176), and "no reactor
//! running" panics when the exporter is driven from a plain thread (#2400). Beacon gives the
//! exporters a runtime of their own — one worker thread named `beacon-export` — so export works
//! the same whether the application uses a multi-thread runtime, a current-thread runtime, or no
//! tokio at all, and a blocking `shutdown()` can never wait on a runtime it is itself blocking.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use tokio::runtime::{Handle, Runtime};

use crate::ExporterError;

/// A handle to Beacon's export runtime. Cheap to clone; the runtime stops when the last clone
/// is dropped, without blocking (so dropping it inside an async context is safe).
#[derive(Clone, Debug)]
pub struct ExportRuntime {
    inner: Arc<RuntimeOwner>,
}

#[derive(Debug)]
struct RuntimeOwner {
    runtime: Option<Runtime>,
    handle: Handle,
}

impl Drop for RuntimeOwner {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // `shutdown_background` never blocks, so it is safe from any context, including
            // from inside another runtime's worker.
            runtime.shutdown_background();
        }
    }
}

impl ExportRuntime {
    /// Starts the export runtime (one worker thread, `beacon-export`).
    ///
    /// # Errors
    /// [`ExporterError::Runtime`] when the operating system refuses to start the thread.
    pub fn new() -> Result<Self, ExporterError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("beacon-export")
            .enable_all()
            .build()
            .map_err(ExporterError::Runtime)?;
        let handle = runtime.handle().clone();
        Ok(Self {
            inner: Arc::new(RuntimeOwner {
                runtime: Some(runtime),
                handle,
            }),
        })
    }

    /// The tokio handle of the export runtime.
    pub fn handle(&self) -> &Handle {
        &self.inner.handle
    }

    /// Spawns `future` on the export runtime with telemetry suppressed, so that the export path
    /// never produces telemetry about itself (no feedback loop through the log bridge).
    pub fn spawn<F>(&self, future: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let cx = Context::new().with_telemetry_suppressed();
        self.inner.handle.spawn(future.with_context(cx))
    }

    /// Runs `f` with the export runtime as the current tokio runtime: exporters that spawn
    /// connection tasks at construction (tonic's lazy channel) must be built inside this.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = self.inner.handle.enter();
        f()
    }

    /// Wraps a future so that every poll happens with the export runtime entered and telemetry
    /// suppressed. Used where the SDK polls an exporter from its own thread (the periodic
    /// metric reader): the exporter's I/O is then driven by the export runtime.
    pub fn in_context<'a, F>(&self, future: F) -> InRuntime<'a, F::Output>
    where
        F: Future + Send + 'a,
    {
        InRuntime {
            handle: self.inner.handle.clone(),
            future: Box::pin(future.with_context(Context::new().with_telemetry_suppressed())),
        }
    }
}

/// A future polled inside the export runtime's context. See [`ExportRuntime::in_context`].
pub struct InRuntime<'a, T> {
    handle: Handle,
    future: Pin<Box<dyn Future<Output = T> + Send + 'a>>,
}

impl<T> std::fmt::Debug for InRuntime<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InRuntime").finish_non_exhaustive()
    }
}

impl<T> Future for InRuntime<'_, T> {
    type Output = T;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<T> {
        let _guard = self.handle.enter();
        self.future.as_mut().poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_the_runtime_inside_another_runtime_does_not_panic() {
        let app = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let export = ExportRuntime::new().expect("export runtime");
        app.block_on(async move {
            let answer = export.spawn(async { 40 + 2 }).await.expect("join");
            assert_eq!(answer, 42);
            drop(export);
        });
    }

    #[test]
    fn in_context_gives_a_reactor_to_a_plain_thread() {
        let export = ExportRuntime::new().expect("export runtime");
        // A timer needs a tokio reactor; polled from a non-tokio executor it would panic
        // without the runtime context.
        let fut = export.in_context(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), async { 7 }).await
        });
        let got = std::thread::spawn(move || block_on(fut))
            .join()
            .expect("thread");
        assert_eq!(got, Ok(7));
    }

    /// A minimal executor for the test above: no tokio on this thread.
    fn block_on<F: Future>(fut: F) -> F::Output {
        struct ThreadWaker(std::thread::Thread);
        impl std::task::Wake for ThreadWaker {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = std::task::Waker::from(Arc::new(ThreadWaker(std::thread::current())));
        let mut cx = TaskContext::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        loop {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::park();
        }
    }
}

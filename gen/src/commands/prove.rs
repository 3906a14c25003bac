//! `gen prove <unit>` and `gen prove-all`: build a unit's RTL and its behavioural
//! reference and prove them equal ([`crate::prove`]); prove-all walks the registry.

use std::io::Write;
use std::path::{Path, PathBuf};

use hdl::{Header, Reference};
use model::UnitParams;

use crate::commands::emit::build_rtl;
use crate::commands::tables::emit_table;
use crate::error::Failure;
use crate::generator_id;
use crate::registry::{each_unit, Registered, Visit};

pub fn prove_unit<P: Reference>(
    params: &P,
    out: Option<PathBuf>,
    options: &crate::prove::Options,
    stdout: &mut dyn Write,
) -> Result<(), Failure> {
    let report = run_proof(params, out, options)?;
    writeln!(stdout, "{}", report.summary()).map_err(|e| Failure {
        code: 1,
        message: e.to_string(),
    })?;
    if report.passed() {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: format!("{} is not proven equal to its reference", report.module),
        })
    }
}

/// Build both designs and prove them equal.
pub fn run_proof<P: Reference>(
    params: &P,
    out: Option<PathBuf>,
    options: &crate::prove::Options,
) -> Result<crate::prove::ProofReport, Failure> {
    let module = build_rtl(params)?;
    let header = Header {
        generator: generator_id(),
        command: None,
    };
    let golden = params.golden().map_err(|e| Failure::other(e.to_string()))?;
    let text = hdl::golden::golden_file(params, &golden, &header);
    let top = params.module_name();
    let dir = out.unwrap_or_else(|| Path::new("build/prove").join(&top));
    let files = hdl::design_files(&module, &header);
    let interface = params.interface();
    let pair = crate::prove::Pair {
        top: &top,
        golden: &text,
        gate: &files,
        state: &golden.state,
        cuts: &golden.cuts,
        scope: golden.scope.as_deref(),
        latency: params.latency(),
        interface: &interface,
    };
    crate::prove::prove(&dir, &pair, options).map_err(|message| Failure { code: 1, message })
}

/// The proof table: every unit's proof set, and its narrowest member at pipeline depth 2;
/// `quick` leaves out [`crate::prove::LONG_PROOFS`].
pub fn prove_all(
    output: Option<&Path>,
    options: &crate::prove::Options,
    jobs: usize,
    quick: bool,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> Result<(), Failure> {
    type Job = Box<dyn FnOnce() -> Result<crate::prove::ProofReport, Failure> + Send>;
    struct Queue<'a> {
        jobs: Vec<Job>,
        options: &'a crate::prove::Options,
        quick: bool,
    }
    impl Visit for Queue<'_> {
        fn visit<U: Registered>(&mut self) {
            for p in crate::registry::proof_configs::<U>() {
                if self.quick && crate::prove::is_long(&p.module_name()) {
                    continue;
                }
                let options = self.options.for_module(&p.module_name());
                self.jobs
                    .push(Box::new(move || run_proof(&p, None, &options)));
            }
        }
    }
    let mut q = Queue {
        jobs: Vec::new(),
        options,
        quick,
    };
    each_unit(&mut q);
    let queue = q.jobs;
    // `jobs` workers take configurations in order; the table keeps that order.
    let count = queue.len();
    let queue = std::sync::Mutex::new(queue.into_iter().enumerate());
    let (tx, rx) = std::sync::mpsc::channel();
    let mut slots: Vec<Option<crate::prove::ProofReport>> = vec![None; count];
    let mut failure = None;
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            let (tx, queue) = (tx.clone(), &queue);
            scope.spawn(move || loop {
                let next = queue.lock().expect("queue").next();
                let Some((i, job)) = next else { break };
                if tx.send((i, job())).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            match result {
                Ok(r) => {
                    let _ = writeln!(stderr, "[prove] {}", r.summary());
                    slots[i] = Some(r);
                }
                Err(e) => {
                    failure.get_or_insert(e);
                }
            }
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let reports: Vec<crate::prove::ProofReport> = slots.into_iter().flatten().collect();
    let table = crate::prove::render(&reports);
    emit_table(&table, output, stdout)?;
    if reports.iter().all(|r| r.passed()) {
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            message: "some units are not proven equal to their references".into(),
        })
    }
}

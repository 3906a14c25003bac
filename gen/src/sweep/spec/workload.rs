//! The `[workload]` table of a spec: what the error stage measures the units on.

use model::study::Dist;
use toml::de::DeTable;

use super::{axis, integer, string, AsRefStr, Lines, SpecError, Value};

/// Where the error stage's values come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A named distribution ([`Dist`]), `trials` rows of each length in `ks`.
    Synthetic(Dist),
    /// Two `.npy` files of the same shape: activations and weights, rows of K values
    /// (a 1-D array is one row). Paths as written, relative to the spec's folder.
    Files { x: String, w: String },
}

/// The `[workload]` table: what the error stage measures the units on.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkloadSpec {
    pub source: Source,
    /// Dot-product lengths (synthetic workloads only).
    pub ks: Vec<usize>,
    /// Rows per length (synthetic workloads only).
    pub trials: usize,
    /// The line of `[workload]`, if given.
    pub line: Option<usize>,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            source: Source::Synthetic(Dist::Gaussian),
            ks: vec![1024],
            trials: 100,
            line: None,
        }
    }
}

/// The `[workload]` table.
pub(super) fn workload(
    lines: &Lines,
    line: usize,
    table: &DeTable,
) -> Result<WorkloadSpec, SpecError> {
    let mut w = WorkloadSpec {
        line: Some(line),
        ..WorkloadSpec::default()
    };
    let (mut dist, mut x, mut w_file, mut ks_given) = (None, None, None, None);
    for (k, v) in table.iter() {
        let key = k.get_ref().as_ref_str();
        match key {
            "dist" => {
                let name = string(lines, "dist", v)?;
                let allowed: Vec<&str> = Dist::ALL.iter().map(|d| d.name()).collect();
                dist = Some(Dist::from_name(&name).ok_or_else(|| {
                    SpecError::at(
                        lines.of(v),
                        format!(
                            "key 'dist': '{name}' is not allowed: allowed {}",
                            allowed.join(", ")
                        ),
                    )
                })?);
            }
            "x" => x = Some(string(lines, "x", v)?),
            "w" => w_file = Some(string(lines, "w", v)?),
            "k" => {
                let values = axis(lines, "k", v)?;
                let mut ks = Vec::new();
                for (value, l) in values {
                    let n = match &value {
                        Value::Text(t) => t.parse::<usize>().ok(),
                        Value::Switch(_) => None,
                    }
                    .filter(|n| (1..=65_536).contains(n))
                    .ok_or_else(|| {
                        SpecError::at(
                            l,
                            format!(
                                "key 'k': {} is not allowed: allowed an integer in 1..=65536",
                                value.show()
                            ),
                        )
                    })?;
                    ks.push(n);
                }
                ks_given = Some(lines.of(k));
                w.ks = ks;
            }
            "trials" => w.trials = integer(lines, "trials", v, 1, 100_000)? as usize,
            other => {
                return Err(SpecError::at(
                    lines.of(k),
                    format!("unknown key '{other}' in [workload]: allowed dist, k, trials, x, w"),
                ))
            }
        }
    }
    match (x, w_file) {
        (None, None) => w.source = Source::Synthetic(dist.unwrap_or(Dist::Gaussian)),
        (Some(x), Some(wf)) => {
            if dist.is_some() {
                return Err(SpecError::at(
                    line,
                    "[workload]: give either 'dist' or the files 'x' and 'w', not both",
                ));
            }
            if let Some(l) = ks_given {
                return Err(SpecError::at(
                    l,
                    "key 'k': a workload read from files takes K from their rows; leave 'k' out",
                ));
            }
            w.source = Source::Files { x, w: wf };
        }
        _ => {
            return Err(SpecError::at(
                line,
                "[workload]: 'x' and 'w' go together (activations and weights, .npy files of \
                 the same shape)",
            ))
        }
    }
    Ok(w)
}

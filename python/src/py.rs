//! The PyO3 module `lowbit._lowbit`: flat, contiguous NumPy arrays in and out (the
//! Python package `lowbit` reshapes and broadcasts), every [`Error`] a `ValueError`.
//! The model code never panics on caller input (the checks in [`crate::ops`] come
//! first); a panic would still reach Python as PyO3's `PanicException`, not abort.

use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict};

use model::bfp::{BfpDotParams, BfpQuantParams};
use model::expq::ExpqQuantParams;
use model::fpacc::{FpaccLongParams, FpaccParams};
use model::mac::MacParams;
use model::mx::{MxDequantParams, MxDotParams, MxQuantParams};
use model::requant::RequantParams;

use crate::{ops, params_of, units, Error, Kwargs, Value};

fn err(e: Error) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn kwargs(kw: Option<&Bound<'_, PyDict>>) -> PyResult<Kwargs> {
    let mut out = Kwargs::new();
    if let Some(d) = kw {
        for (k, v) in d.iter() {
            let key: String = k.extract()?;
            let value = if v.is_instance_of::<PyBool>() {
                Value::Bool(v.extract()?)
            } else {
                Value::Text(v.str()?.to_string())
            };
            out.push((key, value));
        }
    }
    Ok(out)
}

fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>, what: &str) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| PyValueError::new_err(format!("'{what}': a contiguous array is needed")))
}

fn arr<'py, T: numpy::Element>(py: Python<'py>, v: Vec<T>) -> Bound<'py, PyAny> {
    v.into_pyarray(py).into_any()
}

/// Accumulator values: int64 for a signed accumulator, uint64 for an unsigned one.
fn acc_array<'py>(py: Python<'py>, acc: Vec<i128>, signed: bool) -> Bound<'py, PyAny> {
    if signed {
        arr(py, acc.into_iter().map(|v| v as i64).collect())
    } else {
        arr(py, acc.into_iter().map(|v| v as u64).collect())
    }
}

#[pyfunction]
#[pyo3(signature = (a, b, n, **kw))]
fn mac<'py>(
    py: Python<'py>,
    a: PyReadonlyArray1<'py, i64>,
    b: PyReadonlyArray1<'py, i64>,
    n: usize,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let p: MacParams = params_of(&kwargs(kw)?).map_err(err)?;
    let (acc, ovf) = ops::mac(&p, slice(&a, "a")?, slice(&b, "b")?, n).map_err(err)?;
    Ok((acc_array(py, acc, p.acc_signed()), arr(py, ovf)))
}

type FpaccPy<'py> = (
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
    Bound<'py, PyAny>,
);

fn fpacc_out(py: Python<'_>, o: ops::FpaccOut) -> FpaccPy<'_> {
    (arr(py, o.0), arr(py, o.1), arr(py, o.2), arr(py, o.3))
}

#[pyfunction]
#[pyo3(signature = (a, b, n, **kw))]
fn fpacc<'py>(
    py: Python<'py>,
    a: PyReadonlyArray1<'py, i64>,
    b: PyReadonlyArray1<'py, i64>,
    n: usize,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<FpaccPy<'py>> {
    let p: FpaccParams = params_of(&kwargs(kw)?).map_err(err)?;
    let o = ops::fpacc(&p, slice(&a, "a")?, slice(&b, "b")?, n).map_err(err)?;
    Ok(fpacc_out(py, o))
}

#[pyfunction]
#[pyo3(signature = (a, b, n, **kw))]
fn fpacc_long<'py>(
    py: Python<'py>,
    a: PyReadonlyArray1<'py, i64>,
    b: PyReadonlyArray1<'py, i64>,
    n: usize,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<FpaccPy<'py>> {
    let p: FpaccLongParams = params_of(&kwargs(kw)?).map_err(err)?;
    let o = ops::fpacc_long(&p, slice(&a, "a")?, slice(&b, "b")?, n).map_err(err)?;
    Ok(fpacc_out(py, o))
}

type Rnd<'py> = Option<PyReadonlyArray1<'py, u64>>;

#[pyfunction]
#[pyo3(signature = (x, rnd=None, **kw))]
fn bfp_quantize<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, u32>,
    rnd: Rnd<'py>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let p: BfpQuantParams = params_of(&kwargs(kw)?).map_err(err)?;
    let r = match &rnd {
        Some(r) => Some(slice(r, "rnd")?),
        None => None,
    };
    let x = slice(&x, "x")?;
    let (q, e, inv) = py.detach(|| ops::bfp_quantize(&p, x, r)).map_err(err)?;
    Ok((arr(py, q), arr(py, e), arr(py, inv)))
}

#[pyfunction]
fn bfp_dequantize<'py>(
    py: Python<'py>,
    q: PyReadonlyArray1<'py, i64>,
    exp: PyReadonlyArray1<'py, i32>,
) -> PyResult<Bound<'py, PyAny>> {
    let v = ops::bfp_dequantize(slice(&q, "q")?, slice(&exp, "exp")?).map_err(err)?;
    Ok(arr(py, v))
}

#[pyfunction]
#[pyo3(signature = (qa, ea, qb, eb, **kw))]
fn bfp_dot<'py>(
    py: Python<'py>,
    qa: PyReadonlyArray1<'py, i64>,
    ea: PyReadonlyArray1<'py, i32>,
    qb: PyReadonlyArray1<'py, i64>,
    eb: PyReadonlyArray1<'py, i32>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let p: BfpDotParams = params_of(&kwargs(kw)?).map_err(err)?;
    let (s, e) = ops::bfp_dot(
        &p,
        slice(&qa, "qa")?,
        slice(&ea, "ea")?,
        slice(&qb, "qb")?,
        slice(&eb, "eb")?,
    )
    .map_err(err)?;
    Ok((arr(py, s), arr(py, e)))
}

#[pyfunction]
#[pyo3(signature = (x, rnd=None, **kw))]
fn mx_quantize<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, u32>,
    rnd: Rnd<'py>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let p: MxQuantParams = params_of(&kwargs(kw)?).map_err(err)?;
    let r = match &rnd {
        Some(r) => Some(slice(r, "rnd")?),
        None => None,
    };
    let x = slice(&x, "x")?;
    let (codes, scales) = py.detach(|| ops::mx_quantize(&p, x, r)).map_err(err)?;
    Ok((arr(py, codes), arr(py, scales)))
}

#[pyfunction]
#[pyo3(signature = (codes, scales, **kw))]
fn mx_dequantize<'py>(
    py: Python<'py>,
    codes: PyReadonlyArray1<'py, u64>,
    scales: PyReadonlyArray1<'py, u32>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let p: MxDequantParams = params_of(&kwargs(kw)?).map_err(err)?;
    let bits =
        ops::mx_dequantize(&p, slice(&codes, "codes")?, slice(&scales, "scales")?).map_err(err)?;
    Ok(arr(py, bits))
}

#[pyfunction]
#[pyo3(signature = (qa, xa, qb, xb, row, **kw))]
#[allow(clippy::too_many_arguments)]
fn mx_dot<'py>(
    py: Python<'py>,
    qa: PyReadonlyArray1<'py, u64>,
    xa: PyReadonlyArray1<'py, u32>,
    qb: PyReadonlyArray1<'py, u64>,
    xb: PyReadonlyArray1<'py, u32>,
    row: usize,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<FpaccPy<'py>> {
    let p: MxDotParams = params_of(&kwargs(kw)?).map_err(err)?;
    let (qa, xa) = (slice(&qa, "qa")?, slice(&xa, "xa")?);
    let (qb, xb) = (slice(&qb, "qb")?, slice(&xb, "xb")?);
    let o = py
        .detach(|| ops::mx_dot(&p, qa, xa, qb, xb, row))
        .map_err(err)?;
    Ok((arr(py, o.0), arr(py, o.1), arr(py, o.2), arr(py, o.3)))
}

/// The fit as a dict: `bits`, `exp_bits`, `base`, `alpha`, `exp_min`, `mse`.
#[pyfunction]
#[pyo3(signature = (x, bits, metric))]
fn expq_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, f32>,
    bits: u32,
    metric: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let m = ops::metric(metric).map_err(err)?;
    let x = slice(&x, "x")?;
    let f = py.detach(|| ops::expq_fit(x, bits, m)).map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("bits", f.bits)?;
    d.set_item("exp_bits", f.exp_bits)?;
    d.set_item("base", f.base)?;
    d.set_item("alpha", f.alpha)?;
    d.set_item("exp_min", f.exp_min)?;
    d.set_item("mse", f.mse)?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (x, **kw))]
fn expq_quantize<'py>(
    py: Python<'py>,
    x: PyReadonlyArray1<'py, i64>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let p: ExpqQuantParams = params_of(&kwargs(kw)?).map_err(err)?;
    let (s, z, e) = ops::expq_quantize(&p, slice(&x, "x")?).map_err(err)?;
    Ok((arr(py, s), arr(py, z), arr(py, e)))
}

#[pyfunction]
#[pyo3(signature = (acc, mult, shift, zp, **kw))]
fn requantize<'py>(
    py: Python<'py>,
    acc: PyReadonlyArray1<'py, i64>,
    mult: PyReadonlyArray1<'py, i64>,
    shift: PyReadonlyArray1<'py, i64>,
    zp: PyReadonlyArray1<'py, i64>,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let p: RequantParams = params_of(&kwargs(kw)?).map_err(err)?;
    let v = ops::requantize(
        &p,
        slice(&acc, "acc")?,
        slice(&mult, "mult")?,
        slice(&shift, "shift")?,
        slice(&zp, "zp")?,
    )
    .map_err(err)?;
    Ok(arr(py, v))
}

#[pyfunction]
#[pyo3(signature = (unit, pipeline=0, golden=false, **kw))]
fn generate(
    unit: &str,
    pipeline: u32,
    golden: bool,
    kw: Option<&Bound<'_, PyDict>>,
) -> PyResult<(String, String)> {
    units::generate(unit, &kwargs(kw)?, pipeline, golden).map_err(err)
}

#[pyfunction]
#[pyo3(signature = (unit, inputs, beats, pipeline=0, **kw))]
fn simulate<'py>(
    py: Python<'py>,
    unit: &str,
    inputs: Vec<(String, PyReadonlyArray1<'py, i64>)>,
    beats: usize,
    pipeline: u32,
    kw: Option<&Bound<'py, PyDict>>,
) -> PyResult<Vec<(String, usize, Bound<'py, PyAny>)>> {
    let mut ins = Vec::with_capacity(inputs.len());
    for (name, a) in &inputs {
        ins.push((name.clone(), slice(a, name)?.to_vec()));
    }
    let out = units::simulate(unit, &kwargs(kw)?, pipeline, &ins, beats).map_err(err)?;
    Ok(out
        .into_iter()
        .map(|(name, w, bits)| (name, w, arr(py, bits)))
        .collect())
}

#[pyfunction]
fn units_json() -> String {
    units::units_json()
}

#[pymodule]
fn _lowbit(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mac, m)?)?;
    m.add_function(wrap_pyfunction!(fpacc, m)?)?;
    m.add_function(wrap_pyfunction!(fpacc_long, m)?)?;
    m.add_function(wrap_pyfunction!(bfp_quantize, m)?)?;
    m.add_function(wrap_pyfunction!(bfp_dequantize, m)?)?;
    m.add_function(wrap_pyfunction!(bfp_dot, m)?)?;
    m.add_function(wrap_pyfunction!(mx_quantize, m)?)?;
    m.add_function(wrap_pyfunction!(mx_dequantize, m)?)?;
    m.add_function(wrap_pyfunction!(mx_dot, m)?)?;
    m.add_function(wrap_pyfunction!(expq_quantize, m)?)?;
    m.add_function(wrap_pyfunction!(expq_fit, m)?)?;
    m.add_function(wrap_pyfunction!(requantize, m)?)?;
    m.add_function(wrap_pyfunction!(generate, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(units_json, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

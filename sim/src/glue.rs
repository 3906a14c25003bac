//! C++ glue between a Verilated model and Rust, generated from the unit's ports.
//!
//! The glue exports five C functions: `lowbit_new`, `lowbit_free`, `lowbit_run` (a whole
//! batch of beats per call), `lowbit_trace_open` and `lowbit_trace_close`. Each beat
//! copies the input record into the ports, evaluates with `clk` low, copies the outputs
//! out, then raises `clk` and evaluates again: the timing contract of
//! `model::iface::CycleModel::step`.

use std::fmt::Write as _;

use model::iface::{Interface, Port, Role};

/// Verilator's C++ type for a port of `width` bits, and whether it is a `VlWide`.
fn is_wide(width: u32) -> bool {
    width > 64
}

fn mask(width: u32) -> String {
    if width >= 64 {
        "~0ULL".to_string()
    } else {
        format!("0x{:x}ULL", (1u64 << width) - 1)
    }
}

/// Statements copying input word(s) at `off` into port `p`.
fn copy_in(p: &Port, off: usize, indent: &str) -> String {
    let mut s = String::new();
    if is_wide(p.width) {
        for j in 0..p.width.div_ceil(32) {
            let bits = (p.width - 32 * j).min(32);
            let m = if bits == 32 {
                "0xffffffffULL".to_string()
            } else {
                mask(bits)
            };
            let _ = writeln!(
                s,
                "{indent}t->{n}[{j}] = (uint32_t)((in[{w}] >> {sh}) & {m});",
                n = p.name,
                w = off + (j / 2) as usize,
                sh = 32 * (j % 2)
            );
        }
    } else {
        let _ = writeln!(s, "{indent}t->{} = in[{off}] & {};", p.name, mask(p.width));
    }
    s
}

/// Statements copying port `p` into output word(s) at `off`.
fn copy_out(p: &Port, off: usize, indent: &str) -> String {
    let mut s = String::new();
    if is_wide(p.width) {
        for w in 0..p.words() {
            let _ = writeln!(s, "{indent}out[{}] = 0;", off + w);
        }
        for j in 0..p.width.div_ceil(32) {
            let _ = writeln!(
                s,
                "{indent}out[{w}] |= (uint64_t)t->{n}[{j}] << {sh};",
                n = p.name,
                w = off + (j / 2) as usize,
                sh = 32 * (j % 2)
            );
        }
    } else {
        let _ = writeln!(
            s,
            "{indent}out[{off}] = (uint64_t)t->{} & {};",
            p.name,
            mask(p.width)
        );
    }
    s
}

/// The name of the clock port (role `Clock`), if the unit has one.
pub fn clock_name(iface: &Interface) -> Option<&str> {
    iface
        .ports
        .iter()
        .find(|p| p.role == Role::Clock)
        .map(|p| p.name.as_str())
}

/// The per-beat body shared by the glue and the plain C++ benchmark loop.
fn beat_body(iface: &Interface) -> String {
    let mut s = String::new();
    let mut off = 0;
    for p in iface.beat_inputs() {
        s += &copy_in(p, off, "        ");
        off += p.words();
    }
    let clk = clock_name(iface);
    if let Some(c) = clk {
        let _ = writeln!(s, "        t->{c} = 0;");
    }
    s += "        t->eval();\n";
    s += "        if (dump && sim->vcd) sim->vcd->dump(sim->time);\n";
    s += "        sim->time += 5;\n";
    let mut off = 0;
    for p in iface.outputs() {
        s += &copy_out(p, off, "        ");
        off += p.words();
    }
    if let Some(c) = clk {
        let _ = writeln!(s, "        t->{c} = 1;");
        s += "        t->eval();\n";
        s += "        if (dump && sim->vcd) sim->vcd->dump(sim->time);\n";
    }
    s += "        sim->time += 5;\n";
    s
}

/// Statements that reset a fresh instance: one clock edge with the reset port high
/// (docs/conventions.md: a unit is reset before its first beat; what its registers hold
/// at power-up is not part of the contract). Empty for units without a clock or reset.
fn power_on_reset(iface: &Interface) -> String {
    let port = |role| iface.ports.iter().find(|p| p.role == role);
    let (Some(clk), Some(rst)) = (port(Role::Clock), port(Role::Reset)) else {
        return String::new();
    };
    let (c, r) = (&clk.name, &rst.name);
    format!(
        "    V{{top}}* t = sim->top;\n    t->{r} = 1;\n    t->{c} = 0;\n    t->eval();\n    \
         t->{c} = 1;\n    t->eval();\n    t->{r} = 0;\n"
    )
}

/// The glue source for module `top` with ports `iface`; `traced` when the model was
/// Verilated with `--trace` (otherwise `lowbit_trace_open` returns 2).
pub fn glue(top: &str, iface: &Interface, traced: bool) -> String {
    let reset = power_on_reset(iface).replace("{top}", top);
    let (ever_on, attach) = if traced {
        (
            "    sim->ctx->traceEverOn(true);\n",
            "    lowbit_trace_close(p);\n    sim->vcd = new VerilatedVcdC;\n    sim->top->trace(sim->vcd, 99);\n    sim->vcd->open(path);\n    return sim->vcd->isOpen() ? 0 : 1;\n",
        )
    } else {
        (
            "",
            "    // Verilated without --trace: the harness builds a traced twin for VCDs.\n    (void)sim;\n    (void)path;\n    return 2;\n",
        )
    };
    format!(
        r#"// Generated by the lowbit co-simulation harness for module {top}.
#include "V{top}.h"
#include "verilated.h"
#include "verilated_vcd_c.h"
#include <cstdint>

#define EXPORT extern "C" __attribute__((visibility("default")))

struct LowbitSim {{
    VerilatedContext* ctx;
    V{top}* top;
    VerilatedVcdC* vcd;
    uint64_t time;
}};

EXPORT void* lowbit_new() {{
    LowbitSim* sim = new LowbitSim;
    sim->ctx = new VerilatedContext;
{ever_on}    sim->top = new V{top}{{sim->ctx}};
    sim->vcd = nullptr;
    sim->time = 0;
{reset}    return sim;
}}

EXPORT void lowbit_trace_close(void* p) {{
    LowbitSim* sim = static_cast<LowbitSim*>(p);
    if (sim->vcd) {{
        sim->vcd->close();
        delete sim->vcd;
        sim->vcd = nullptr;
    }}
}}

EXPORT int lowbit_trace_open(void* p, const char* path) {{
    LowbitSim* sim = static_cast<LowbitSim*>(p);
{attach}}}

EXPORT void lowbit_free(void* p) {{
    LowbitSim* sim = static_cast<LowbitSim*>(p);
    lowbit_trace_close(p);
    sim->top->final();
    delete sim->top;
    delete sim->ctx;
    delete sim;
}}

// Run n beats: in holds n input records of {iw} words, out receives n output records of
// {ow} words. With dump set and a trace open, every edge is written to the VCD.
EXPORT void lowbit_run(void* p, uint64_t n, const uint64_t* in, uint64_t* out, int dump) {{
    LowbitSim* sim = static_cast<LowbitSim*>(p);
    V{top}* t = sim->top;
    for (uint64_t k = 0; k < n; ++k) {{
{body}        in += {iw};
        out += {ow};
    }}
}}
"#,
        iw = iface.in_words(),
        ow = iface.out_words(),
        body = beat_body(iface),
    )
}

/// A stand-alone C++ program driving the same model with inputs from a xorshift
/// generator, for the throughput comparison in the benchmark. It prints beats/second.
pub fn plain_loop(top: &str, iface: &Interface) -> String {
    let iw = iface.in_words();
    let ow = iface.out_words();
    // Reset only rarely, as a real stream would.
    let mut reset = String::new();
    let mut off = 0;
    for p in iface.beat_inputs() {
        if p.role == Role::Reset {
            let _ = writeln!(reset, "        in_rec[{off}] = (x >> 58) == 0;");
        }
        off += p.words();
    }
    format!(
        r#"// Plain C++ Verilator loop for module {top} (benchmark baseline).
#include "V{top}.h"
#include "verilated.h"
#include "verilated_vcd_c.h"
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

struct LowbitSim {{
    VerilatedContext* ctx;
    V{top}* top;
    VerilatedVcdC* vcd;
    uint64_t time;
}};

int main(int argc, char** argv) {{
    uint64_t beats = argc > 1 ? strtoull(argv[1], nullptr, 10) : 10000000ULL;
    LowbitSim s{{new VerilatedContext, nullptr, nullptr, 0}};
    s.top = new V{top}{{s.ctx}};
    LowbitSim* sim = &s;
    V{top}* t = s.top;
    const int dump = 0;
    uint64_t x = 88172645463325252ULL, sum = 0;
    uint64_t in_rec[{iw}], out_rec[{ow}];
    auto start = std::chrono::steady_clock::now();
    for (uint64_t k = 0; k < beats; ++k) {{
        for (int w = 0; w < {iw}; ++w) {{
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            in_rec[w] = x;
        }}
{reset}        const uint64_t* in = in_rec;
        uint64_t* out = out_rec;
{body}        sum += out_rec[0];
    }}
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    printf("beats_per_second %.0f\nchecksum %llu\n", beats / secs, (unsigned long long)sum);
    t->final();
    delete t;
    delete s.ctx;
    return 0;
}}
"#,
        body = beat_body(iface),
    )
}

//! Reference of `palq_shuffle` (docs/palq-shuffle.md), written from the input side: a
//! loop over input channels that computes where each one goes (the RTL and the model
//! ask, for each output channel, where it comes from).

use model::palq::{PalqShuffleParams, ShuffleKind};

use super::{k, Body, GoldenModule, Ty};
use crate::ir::Result;

/// Input channel `i = g*(C/G) + r` (group g, rank r in its group) goes to output
/// `r*G + g` in the channel shuffle, and to `((g + G - 1) mod G)*(C/G) + r` in the
/// cyclic one (its group moves down by one).
pub(crate) fn golden(p: &PalqShuffleParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (c, n, g) = (p.bits, p.channels, p.groups);
    let per = n / g;
    let mut b = Body::new();
    let y = b.reg("g_y", Ty::u(c * n));
    b.line("integer i;");
    let target = match p.kind {
        ShuffleKind::Channel => format!("(i % {per}) * {g} + i / {per}", per = k(per), g = k(g)),
        ShuffleKind::Cyclic => format!(
            "((i / {per} + {gm1}) % {g}) * {per} + i % {per}",
            per = k(per),
            g = k(g),
            gm1 = k(g - 1)
        ),
    };
    b.text(format!(
        "    always @* begin
        g_y = {zero};
        for (i = {k0}; i < {kn}; i = i + {k1})
            g_y[{kc} * ({target}) +: {c}] = x[{kc} * i +: {c}];
    end
",
        zero = y.lit(0),
        k0 = k(0),
        k1 = k(1),
        kn = k(n),
        kc = k(c),
    ));
    b.line("assign y = g_y;");
    Ok(b.finish())
}

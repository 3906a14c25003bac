// Hand-written reference: signed N x N multiply-accumulate with an A-bit saturating
// accumulator, written the plain way an engineer would (SPEC.md section 1, pipeline 0).
// It is not generated: `make synth REF=1` synthesizes it with the same script as the
// generated MAC for a fair area/Fmax comparison, and the co-simulation tests check it
// against the Rust model as an independent oracle.
module mac_ref #(
    parameter N = 8,
    parameter A = 12
) (
    input  wire                clk,
    input  wire                rst,
    input  wire                in_valid,
    input  wire                clear,
    input  wire signed [N-1:0] a,
    input  wire signed [N-1:0] b,
    output reg  signed [A-1:0] acc,
    output reg                 ovf,
    output reg                 out_valid
);
    localparam S = (A > 2 * N ? A : 2 * N) + 1;  // exact sum width

    wire signed [2*N-1:0] p = a * b;
    wire signed [S-1:0] base = clear ? {S{1'b0}} : {{(S - A){acc[A-1]}}, acc};
    wire signed [S-1:0] s = base + {{(S - 2 * N){p[2*N-1]}}, p};
    wire signed [S-1:0] maxv = {{(S - A + 1){1'b0}}, {(A - 1){1'b1}}};
    wire signed [S-1:0] minv = {{(S - A + 1){1'b1}}, {(A - 1){1'b0}}};
    wire too_big = s > maxv;
    wire too_small = s < minv;

    always @(posedge clk) begin
        if (rst) begin
            acc <= {A{1'b0}};
            ovf <= 1'b0;
            out_valid <= 1'b0;
        end else begin
            out_valid <= in_valid;
            if (in_valid) begin
                if (too_big) acc <= maxv[A-1:0];
                else if (too_small) acc <= minv[A-1:0];
                else acc <= s[A-1:0];
                ovf <= (ovf & ~clear) | too_big | too_small;
            end
        end
    end
endmodule

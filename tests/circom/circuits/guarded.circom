pragma circom 2.1.0;

// A circuit whose assert fails for x >= 100 (an `assert` in a sub-template) and whose
// constraint y === x * x fails for a y that is not x squared.
template Bounded() {
    signal input in;
    signal output out;
    assert(in < 100);
    out <== in + 1;
}

template Guarded() {
    signal input x;
    signal input y;
    signal output z;
    component b = Bounded();
    b.in <== x;
    y === x * x;
    z <== b.out * y;
}

component main = Guarded();

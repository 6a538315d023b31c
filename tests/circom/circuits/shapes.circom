pragma circom 2.1.0;

// Input shapes and many components: a scalar, a vector, a 2x3 matrix and a 2x2x2 cube as
// inputs, several outputs (a scalar, a vector, a matrix), one Multiplier component per matrix
// cell and circomlib comparators. Public signals: the outputs, then k and v.
include "circomlib/circuits/comparators.circom";

template Multiplier() {
    signal input a;
    signal input b;
    signal output c;
    c <== a * b;
}

template Shapes() {
    signal input k;
    signal input v[3];
    signal input m[2][3];
    signal input cube[2][2][2];
    signal output total;
    signal output scaled[3];
    signal output prod[2][3];
    signal output lt;

    component mul[2][3];
    for (var i = 0; i < 2; i++) {
        for (var j = 0; j < 3; j++) {
            mul[i][j] = Multiplier();
            mul[i][j].a <== m[i][j];
            mul[i][j].b <== v[j];
            prod[i][j] <== mul[i][j].c;
        }
    }
    for (var j = 0; j < 3; j++) {
        scaled[j] <== v[j] * k;
    }
    var acc = 0;
    for (var i = 0; i < 2; i++) {
        for (var j = 0; j < 2; j++) {
            for (var l = 0; l < 2; l++) {
                acc += cube[i][j][l] * (4 * i + 2 * j + l + 1);
            }
        }
    }
    signal sq <== k * k;
    total <== acc + sq;
    component cmp = LessThan(32);
    cmp.in[0] <== v[0];
    cmp.in[1] <== v[1];
    lt <== cmp.out;
    log("shapes: k =", k, "total =", total);
}

component main {public [k, v]} = Shapes();

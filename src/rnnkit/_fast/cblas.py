"""Calling NumPy's ``cblas_sgemm`` and ``cblas_sgemv`` from compiled code, by address.

The whole-sequence loops (:mod:`rnnkit._fast.sequence`) call BLAS at every step. They get the two
functions as integers, ``(sgemm address, sgemv address, integer bits)`` (from
:func:`rnnkit._fast.blas.addresses`), and :func:`sgemm` / :func:`sgemv` here call through them.
Passing the ctypes function objects themselves works too, but numba types a ctypes function argument
anew on every call of a compiled function: 0.3–0.7 ms per call, as much as a whole layer's loop at small
sizes. Integers dispatch in about a microsecond, and compiled code that takes them can be cached on
disk (the addresses change from one process to the next; the code does not).

The argument types are those of the CBLAS interface: enums as C ints, sizes as 64-bit integers in
ILP64 builds of OpenBLAS (NumPy's wheels) or C ints otherwise (``bits``), ``alpha``/``beta`` as
floats, arrays as pointers (``array.ctypes.data``).
"""
from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from rnnkit._fast.kernels import jit

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
GEMM = "eee" + "iii" + "f" + "pi" + "pi" + "f" + "pi"   # order, transa, transb, M, N, K, α, A, lda, B, ldb, β, C, ldc
GEMV = "ee" + "ii" + "f" + "pi" + "pi" + "f" + "pi"     # order, trans, M, N, α, A, lda, x, incx, β, y, incy


def _indirect_call(kinds: str, bits: int):
    """An intrinsic ``call(address, args)`` that calls the C function at ``address`` with the tuple ``args``,
    converted by ``kinds``: e a C int (enum), i a size of ``bits`` bits, f a float, p a pointer from an integer."""
    numba_type = {"e": types.int32, "i": types.int64 if bits == 64 else types.int32, "f": types.float32,
                  "p": types.uintp}

    @intrinsic
    def call(typingctx, address, args):
        if len(args) != len(kinds):
            return None

        def codegen(context, builder, signature, llargs):
            values, c_types = [], []
            for k, kind in enumerate(kinds):
                value = context.cast(builder, builder.extract_value(llargs[1], k), signature.args[1][k],
                                     numba_type[kind])
                if kind == "p":
                    value = builder.inttoptr(value, ir.IntType(8).as_pointer())
                values.append(value)
                c_types.append(value.type)
            target = context.cast(builder, llargs[0], signature.args[0], types.uintp)
            function = builder.inttoptr(target, ir.FunctionType(ir.VoidType(), c_types).as_pointer())
            builder.call(function, values)
            return context.get_dummy_value()
        return types.void(address, args), codegen
    return call


_gemm64, _gemm32 = _indirect_call(GEMM, 64), _indirect_call(GEMM, 32)
_gemv64, _gemv32 = _indirect_call(GEMV, 64), _indirect_call(GEMV, 32)


@jit
def sgemm(blas, transa, transb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc):
    """cblas_sgemm in row-major order; a, b, c are arrays (their data pointers are passed)."""
    args = (ROW_MAJOR, transa, transb, M, N, K, alpha, a.ctypes.data, lda, b.ctypes.data, ldb, beta,
            c.ctypes.data, ldc)
    if blas[2] == 64:
        _gemm64(blas[0], args)
    else:
        _gemm32(blas[0], args)


@jit
def sgemv(blas, trans, M, N, alpha, a, lda, x, incx, beta, y, incy):
    """cblas_sgemv in row-major order; a, x, y are arrays."""
    args = (ROW_MAJOR, trans, M, N, alpha, a.ctypes.data, lda, x.ctypes.data, incx, beta, y.ctypes.data, incy)
    if blas[2] == 64:
        _gemv64(blas[1], args)
    else:
        _gemv32(blas[1], args)

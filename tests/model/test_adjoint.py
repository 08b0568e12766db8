"""cotangent_barrier: an exact identity in values, JVPs and VJPs, whose tangent path holds a dot."""

import jax
import jax.numpy as jnp
import numpy as np

from tccas import model as M
from tccas.model import photosynthesis as ph
from tccas.model.adjoint import cotangent_barrier

GP = M.default_global_params()


def _f(x):
    """A value shared by several nonlinear consumers (the pattern the barrier is for)."""
    y = {"a": jnp.sin(x) * x, "b": jnp.exp(-x[..., ::-1]), "s": jnp.sum(x**2)}
    return y


def _g(y):
    return jnp.sum(y["a"] * y["b"]) + jnp.sum(jnp.tanh(y["a"])) + y["s"] * jnp.sum(y["b"])


def test_values_and_derivatives_unchanged_bit_for_bit():
    x = jnp.linspace(-1.3, 2.1, 24).reshape(3, 8)
    plain = lambda x: _g(_f(x))  # noqa: E731
    fenced = lambda x: _g(cotangent_barrier(_f(x)))  # noqa: E731
    assert float(fenced(x)) == float(plain(x))
    np.testing.assert_array_equal(jax.grad(fenced)(x), jax.grad(plain)(x))
    v = jnp.cos(3.0 * x)
    np.testing.assert_array_equal(jax.jvp(fenced, (x,), (v,))[1], jax.jvp(plain, (x,), (v,))[1])
    batched = jax.vmap(jax.grad(fenced))(jnp.stack([x, 2.0 * x]))
    np.testing.assert_array_equal(batched[1], jax.grad(plain)(2.0 * x))


def test_scalar_leaves_pass_and_tangent_path_holds_a_dot():
    """0-d leaves (the hourly DALEC step's scalar hours) are passed through; arrays meet a dot_general
    only on the tangent side, so the forward program is unchanged."""
    x = jnp.arange(1.0, 5.0)
    assert "dot_general" not in str(jax.make_jaxpr(cotangent_barrier)(x))
    tangent = str(jax.make_jaxpr(lambda x, v: jax.jvp(cotangent_barrier, (x,), (v,)))(x, x))
    assert "dot_general" in tangent
    s = jnp.asarray(2.5)
    assert jax.jvp(cotangent_barrier, (s,), (jnp.asarray(0.75),)) == (2.5, 0.75)


def test_integer_leaves_pass():
    """An integer leaf in the pytree (float0 tangent) does not break differentiation."""

    def f(x):
        y = cotangent_barrier({"a": 2.0 * x, "i": jnp.arange(3)})
        return jnp.sum(y["a"] * x) + jnp.sum(y["i"])

    np.testing.assert_array_equal(jax.grad(f)(jnp.arange(3.0)), 4.0 * jnp.arange(3.0))


def test_photosynthesis_gradient_matches_unfenced(monkeypatch):
    """pass1 → pass2 gradients w.r.t. light, temperature and V_m25 equal those without the barrier."""
    tp = M.default_tile_params(9)
    a = jnp.asarray
    q = a([[900.0, 20.0, 0.0], [300.0, 5.0, 0.0], [80.0, 1.0, 0.0]])  # 3 layers x 3 hours, one dark

    def scalar(q, t, vm):
        p = tp._replace(vcmax25=vm)
        p1 = ph.pass1(q, t, a(400e-6), a(101325.0), a(1.0e-3), jnp.ones(3)[:, None], p, GP, 0.0)
        p2 = ph.pass2(
            q, t + 1.5, a(400e-6), a(101325.0), a(1.0e-3), 0.8 * p1.g_s0, jnp.ones(3)[:, None], p, GP, 0.0
        )
        return jnp.sum(p2.a_gross) + jnp.sum(p2.j_a) + jnp.sum(p1.g_s0)

    args = (q, a([22.0, 14.0, 3.0]), a(60.0))
    fenced = jax.grad(scalar, argnums=(0, 1, 2))(*args)
    monkeypatch.setattr(ph, "cotangent_barrier", lambda x: x)
    plain = jax.grad(scalar, argnums=(0, 1, 2))(*args)
    for gf, gpl in zip(fenced, plain, strict=True):
        assert np.all(np.isfinite(gf))
        np.testing.assert_allclose(gf, gpl, rtol=1e-14, atol=1e-300)

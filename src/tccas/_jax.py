"""JAX configuration shared by the science packages (model, obs, da, scenario).

Science code runs in float64 (model_spec §5.1 item 8, ecosystem_aesthetics §3.3). Importing any of the
science packages imports this module first, so float64 is on before the first array is created.
"""

import jax

jax.config.update("jax_enable_x64", True)

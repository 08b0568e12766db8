"""Physical constants of the D&B process model (model_spec §2.5, BETHY ``mo_constants.f90`` [B]).

All values SI unless the name says otherwise. These are true constants; tunable quantities live in the
parameter registry (:mod:`tccas.model.parameters`).
"""

R_GAS = 8.314  # universal gas constant [J mol-1 K-1]
CP_AIR = 1005.46  # specific heat of dry air at constant pressure [J kg-1 K-1]
GRAVITY = 9.80665  # [m s-2]
SIGMA_SB = 5.6697e-8  # Stefan-Boltzmann constant [W m-2 K-4]
M_DRY_AIR = 28.964  # molar mass of dry air [g mol-1]
EPS_WATER = 287.05 / 461.51  # R_d / R_v [-]
KARMAN = 0.41  # von Karman constant [-]
T_MELT = 273.16  # [K]; T_K = T_C + T_MELT throughout (BETHY convention)
T_REF_K = 298.16  # reference temperature of the Arrhenius factors (25 degC) [K]
M_CARBON = 12.0  # molar mass of carbon [g mol-1] (model_spec §2.5: 12e-3 kg mol-1)
E_PAR = 2.2e5  # energy of one mole of PAR photons [J mol-1] (4.55 umol J-1)
P0 = 101325.0  # standard surface pressure [Pa]
C_DRY_MATTER = 0.45  # carbon fraction of dry matter [gC g-1]
EMISSIVITY_SURFACE = 0.97  # surface long-wave emissivity (model_spec §3.6) [-]
O2_MOLE_FRACTION = 0.21  # [mol mol-1]
SOLAR_PAR_CONSTANT = 600.0  # PAR part of the solar constant (model_spec §3.1) [W m-2]
SOLAR_CONSTANT = 1361.0  # total solar irradiance at 1 AU (synthetic forcing only) [W m-2]
SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24
DAYS_PER_YEAR = 365.25  # DALEC phenology period (model_spec §2.2)
N_LAYERS = 3  # BETHY canopy layers of equal LAI (model_spec §3.3)
MU_NIGHT = 1e-3  # cos(solar zenith) below which an hour is night (model_spec §3.1)

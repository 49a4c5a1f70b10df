//! The analyst's decision. OWNER: integrator.

"""Synthetic data for tests, demos and training where real data cannot show something: Human3.6M-
format poses of a kinematic body model (`h36m`), multi-person scenes (`scenes`), and AE maps
rendered from annotations by the project's synthesiser (`ae_maps`) and three other generators
(`ae_maps_second`, `ae_maps_third`, `ae_maps_fourth`). The readers of real files are in `datasets`."""

"""Seeing inside the network: gradient flow through time, gate statistics, training curves and
the long-range experiment. Each module is one Python call behind one command:

* :mod:`.gradflow`  ``fresh_flows`` / ``run_flows`` -> ``rnnkit gradflow``
* :mod:`.gates`     ``inspect_run``                  -> ``rnnkit inspect RUN``
* :mod:`.inputs`    ``probe`` / ``trained_inputs``   what each task's stack reads (both commands)
* :mod:`.curves`    ``write_curves`` / ``write_plots`` -> ``rnnkit plot RUN ...``
* :mod:`.lag`       ``run_lag_experiment``           -> ``rnnkit experiment lag``

Every one writes its numbers as CSV; PNG plots need matplotlib (``pip install "rnnkit[plot]"``),
imported only when a plot is drawn. Nothing here is imported by ``import rnnkit``.
"""

"""The RGB + LiDAR fusion workbench as a library, free of DVC, a folder per phase of the pipeline:
`synthetic` (the renderer), `data` (reading, preparing, splitting), `strategies` and `models`
(the fusion strategies, training), `faults` and `evaluation` (metrics, the fault suite),
`comparison` (intervals, verdicts, which strategy to use, tables and figures). `stages/` calls it.
"""

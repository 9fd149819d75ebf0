"""Participatory processes: a participatory budget from residents' proposals to review, with every
step on the process's public record (docs/participation.md)."""

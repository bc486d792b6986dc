"""Step: grid cells (网格) in every committee, with their places and grid workers."""

from __future__ import annotations

from gridguard.core import audit
from gridguard.core.scoping import SYSTEM
from gridguard.demo.registry import DemoContext, demo_step
from gridguard.demo.steps.people import bulk_staff
from gridguard.territory.models import GridCell


@demo_step(order=200, name="grid")
def grid(ctx: DemoContext) -> None:
    """Cells per committee/village; each cell gets its committee's compounds round-robin and at
    least one grid worker; `--people` adds more workers (half the people are grid workers)."""
    per = ctx.scale.grid_cells_per_committee
    places: dict[int, list[int]] = {}
    for kind in ("compound", "village_group"):
        for a in ctx.kind(kind):
            places.setdefault(a.parent_id, []).append(a.pk)
    cells: list[GridCell] = []
    for committee in ctx.kind("committee") + ctx.kind("village"):
        for n in range(1, per + 1):
            cells.append(
                GridCell(
                    area=committee,
                    code=f"{committee.code}W{n:02d}",
                    name=f"{committee.name}第{n}网格",
                )
            )
    cells = GridCell.objects.bulk_create(cells, batch_size=2000)
    if cells and cells[0].pk is None:
        ids = dict(GridCell.objects.values_list("code", "pk"))
        for c in cells:
            c.pk = ids[c.code]
    Through = GridCell.places.through
    links = []
    for i, cell in enumerate(cells):
        mine = places.get(cell.area_id, [])
        links += [Through(gridcell_id=cell.pk, area_id=p) for p in mine[i % per :: per]]
    Through.objects.bulk_create(links, batch_size=5000)

    n_workers = max(len(cells), ctx.scale.people // 2)
    homes = [cells[i % len(cells)] for i in range(n_workers)]
    workers = bulk_staff(ctx, "grid", "grid_worker", [c.area for c in homes])
    WThrough = GridCell.workers.through
    WThrough.objects.bulk_create(
        [WThrough(gridcell_id=c.pk, user_id=u.pk) for c, u in zip(homes, workers, strict=True)],
        batch_size=5000,
    )
    ctx.key["grid_cells"] = cells
    audit.record(
        SYSTEM,
        "demo.grid.create",
        object_type="territory.gridcell",
        detail={"cells": len(cells), "places": len(links), "workers": len(workers)},
    )
    ctx.log(f"grid: {len(cells):,} cells, {len(workers):,} grid workers")

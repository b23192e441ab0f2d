// Guard module — see DESIGN.md

// Deploy module — see DESIGN.md

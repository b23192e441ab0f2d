// Manifest module — see DESIGN.md

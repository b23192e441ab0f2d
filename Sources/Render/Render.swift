// Render module — see DESIGN.md

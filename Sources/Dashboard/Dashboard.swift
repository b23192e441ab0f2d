// Dashboard module — see DESIGN.md

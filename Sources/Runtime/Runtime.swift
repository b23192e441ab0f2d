// Runtime module — see DESIGN.md

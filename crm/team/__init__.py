"""The manager's team pages (issue 20). Reads only: ``services`` computes the reports from other
features' models, ``charts`` draws them as SVG, ``views`` serves pages and CSV."""

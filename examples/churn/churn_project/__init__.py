"""An example user project: churn prediction with its own trainer and freshet's other steps."""

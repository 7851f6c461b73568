"""The owner dashboard's shell: layout, navigation, Today and access. Other apps
contribute pages and panels through `properties.dashboard.registry`."""

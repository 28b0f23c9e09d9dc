"""House price prediction service: the contract in ``spec/api.yaml``, served by Connexion."""

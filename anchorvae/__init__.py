"""anchorvae: anchored latent spaces, a VAE loss that puts chosen digits in chosen corners."""

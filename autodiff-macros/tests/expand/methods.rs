impl Model {
    #[differentiate]
    pub fn predict(&self, x: &[f64; 2]) -> f64 {
        let mut y = self.b;
        for j in 0..2 {
            y += self.w[j] * x[j];
        }
        y.tanh()
    }

    #[differentiate(wrt(self))]
    pub fn loss(&self, x: &[f64; 2], y: f64) -> f64 {
        let d = self.predict(x) - y;
        Self::half_square(d)
    }

    #[differentiate]
    fn step(self, dt: f64) -> Self {
        Self { b: self.b + dt * self.w[0], ..self }
    }
}

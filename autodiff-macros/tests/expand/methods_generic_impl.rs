#[differentiate]
impl<F: Float> Lin<F> {
    #[differentiate(reverse)]
    pub fn eval(&self, x: F) -> F {
        self.a * x.sin() + self.b * x
    }

    pub fn a(&self) -> F {
        self.a
    }
}
